// Registration of parq-ts's training kernels for the tfjs wasm backend.
//
// Two groups:
//  - missing kernels (registerWasmTrainingKernels): kernels a training step of LeNet-5 /
//    ResNet-20 needs and tfjs-backend-wasm 4.22 does not have. Only Conv2DBackpropFilter
//    is missing (found by running model.fit / tf.variableGrads on those models). Each is
//    registered only where the wasm backend lacks it, so a later tfjs release that ships
//    its own kernel keeps it.
//  - faster replacements (replaceSlowWasmKernels): kernels the wasm backend has, but as
//    slow loops that dominate a training step (Conv2DBackpropInput; BatchMatMul with a
//    transposed operand, i.e. every dense layer's gradient; Tile from the batch norm
//    gradient; AvgPoolGrad), that break ties differently from the cpu backend
//    (MaxPoolGrad), Sum and Mean over leading axes (batch norm's per-channel reductions,
//    SIMD), Multiply of same shapes or broadcast over leading axes (batch norm's scale),
//    Add broadcast over leading axes (biases), the forward Conv2D of one input channel and,
//    with FusedConv2D, the 3x3 stride-1 convolutions (Winograd F(2x2, 3x3), ./winograd.ts),
//    Sum and Mean over other axes, which the stock kernels add as float32 running
//    sums, too inexact for the quantizers' scales (see ./exact-reduction.ts), and Identity
//    and same-dtype Cast, which copy where a shared reference does (./identity.ts).
//    Each replacement keeps the stock kernel as fallback for the cases it
//    does not handle, and restoreStockWasmKernels() puts the stock kernels back.
// Both functions are idempotent and can run before or after the wasm backend initializes.
import * as tf from '@tensorflow/tfjs';
import { makeAdd } from './add.js';
import { makeAvgPoolGrad } from './avg-pool-grad.js';
import { batchNormTrainingConfigs } from './batch-norm-training.js';
import { makeBatchMatMul } from './batch-mat-mul.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { makeConv2D } from './conv2d.js';
import { makeConv2dBackpropInput } from './conv2d-backprop-input.js';
import { makeFusedConv2D } from './fused-conv2d.js';
import { makeCast, makeIdentity } from './identity.js';
import { WASM } from './kernel-utils.js';
import { makeMean, makeSum } from './leading-reduction.js';
import { makeMaxPoolGrad } from './max-pool-grad.js';
import { makeExactMean, makeExactSum } from './exact-reduction.js';
import { makeMultiply } from './multiply.js';
import { reluGradConfig } from './relu-grad.js';
import '../mean-grad.js'; // the Mean gradient without a tensor of ones (all backends)
import { makeTile } from './tile.js';

/** Kernels parq-ts adds to the wasm backend where they are missing. */
export const WASM_MISSING_KERNELS: readonly tf.KernelConfig[] = [conv2dBackpropFilterConfig];

/** Stock wasm kernels parq-ts can replace by faster ones: name -> factory(stock). */
const REPLACEMENTS: ReadonlyArray<[string, (stock: tf.KernelFunc) => tf.KernelFunc]> = [
  [tf.Conv2DBackpropInput, makeConv2dBackpropInput],
  [tf.BatchMatMul, makeBatchMatMul],
  [tf.Tile, makeTile],
  [tf.AvgPoolGrad, makeAvgPoolGrad],
  [tf.MaxPoolGrad, makeMaxPoolGrad],
  // leading axes on SIMD; any other contiguous axes added in double; else the stock kernel
  [tf.Sum, (stock) => makeSum(makeExactSum(stock))],
  [tf.Mean, (stock) => makeMean(makeExactMean(stock))],
  [tf.Multiply, makeMultiply],
  [tf.Add, makeAdd],
  [tf.Conv2D, makeConv2D],
  [tf.FusedConv2D, makeFusedConv2D],
  [tf.Identity, makeIdentity],
  [tf.Cast, makeCast],
];

/**
 * parq-ts's own fused kernels (no stock counterpart; ops call them only where registered):
 * training batch norm and its gradient (../batch-norm-training.ts), the ReLU gradient
 * (../relu-grad.ts). replaceSlowWasmKernels()
 * adds them, restoreStockWasmKernels() removes them, so a stock run is stock throughout.
 */
export const WASM_FUSED_KERNELS: readonly tf.KernelConfig[] = [
  ...batchNormTrainingConfigs,
  reluGradConfig,
];

/** Names of the kernels replaceSlowWasmKernels() replaces. */
export const WASM_REPLACED_KERNELS: readonly string[] = REPLACEMENTS.map(([name]) => name);

/** Stock configs of the kernels currently replaced, by name. */
const stockConfigs = new Map<string, tf.KernelConfig>();
/** Kernel functions made by this module (to recognise our own registrations). */
const ourKernelFuncs = new WeakSet<tf.KernelFunc>();

/** Is the wasm kernel `name` parq-ts's replacement (replaceSlowWasmKernels), not the stock one? */
export function isReplacedWasmKernel(name: string): boolean {
  const current = tf.getKernel(name, WASM);
  return current != null && ourKernelFuncs.has(current.kernelFunc);
}

/**
 * Registers the training kernels the wasm backend lacks (Conv2DBackpropFilter), each only
 * where tf.getKernel(name, 'wasm') finds nothing. Returns the names it registered: empty
 * when all were present already.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of WASM_MISSING_KERNELS) {
    if (tf.getKernel(config.kernelName, WASM) == null) {
      tf.registerKernel(config);
      added.push(config.kernelName);
    }
  }
  return added;
}

/**
 * Replaces the stock wasm kernels that are slow in a CNN training step (see
 * WASM_REPLACED_KERNELS) by parq-ts's versions, and adds the fused ones
 * (WASM_FUSED_KERNELS). A kernel is replaced only while the registered one is the stock
 * one; it is skipped where the wasm backend has none (not imported yet) or where it is
 * replaced already. Returns the names it replaced or added.
 */
export function replaceSlowWasmKernels(): string[] {
  const replaced: string[] = [];
  for (const config of WASM_FUSED_KERNELS) {
    if (tf.getKernel(config.kernelName, WASM) != null) continue;
    tf.registerKernel(config);
    replaced.push(config.kernelName);
  }
  for (const [name, make] of REPLACEMENTS) {
    const current = tf.getKernel(name, WASM);
    if (current == null || ourKernelFuncs.has(current.kernelFunc)) continue;
    const kernelFunc = make(current.kernelFunc);
    ourKernelFuncs.add(kernelFunc);
    tf.unregisterKernel(name, WASM);
    // Keep the stock setup: it binds the compiled function the fallback path calls, and
    // the engine runs it when it (re)initializes the backend.
    tf.registerKernel({
      kernelName: name,
      backendName: WASM,
      kernelFunc,
      setupFunc: current.setupFunc,
      disposeFunc: current.disposeFunc,
    });
    stockConfigs.set(name, current);
    replaced.push(name);
  }
  return replaced;
}

/**
 * Puts back the stock kernels replaceSlowWasmKernels() replaced and removes the fused ones it
 * added. Returns their names.
 */
export function restoreStockWasmKernels(): string[] {
  const restored: string[] = [];
  for (const [name, stock] of stockConfigs) {
    const current = tf.getKernel(name, WASM);
    if (current != null && ourKernelFuncs.has(current.kernelFunc)) {
      tf.unregisterKernel(name, WASM);
      tf.registerKernel(stock);
      restored.push(name);
    }
    stockConfigs.delete(name);
  }
  for (const config of WASM_FUSED_KERNELS) {
    const current = tf.getKernel(config.kernelName, WASM);
    if (current != null && current.kernelFunc === config.kernelFunc) {
      tf.unregisterKernel(config.kernelName, WASM);
      restored.push(config.kernelName);
    }
  }
  return restored;
}
