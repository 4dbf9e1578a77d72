// A faster Multiply for the wasm backend, for float32 operands of the same shape or where
// one broadcasts over the other's leading axes ([N, H, W, C] times [C] or [1, 1, 1, C]: batch
// norm's scale and its gradient). The stock kernel runs its general broadcasting loop for
// these; here one SIMD pass (mulrows in simd/kernels.wat) multiplies each row by the small
// operand. Everything else (other broadcasts, non-float32, rows under 4 values, no SIMD)
// goes to the stock kernel. The product is one float32 multiply either way, as on cpu.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel-utils.js';
import { addressOf, simdKernelsFor } from './simd/index.js';

/** [rows, cols] of big (x) small-broadcast-over-leading-axes, or null. */
export function rowBroadcast(
  big: number[],
  small: number[],
): { rows: number; cols: number } | null {
  let first = 0;
  while (first < small.length && small[first] === 1) first++;
  const core = small.slice(first);
  if (small.length > big.length || core.length > big.length) return null;
  const tail = big.slice(big.length - core.length);
  if (!core.every((d, i) => d === tail[i])) return null;
  const cols = core.reduce((a, b) => a * b, 1);
  const size = big.reduce((a, b) => a * b, 1);
  return { rows: cols === 0 ? 0 : size / cols, cols };
}

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeMultiply(stock: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') {
      return stock(args as Parameters<tf.KernelFunc>[0]);
    }
    const aBig = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape);
    const [big, small] = aBig ? [a, b] : [b, a];
    const split = rowBroadcast(big.shape, small.shape);
    const simd = split !== null && split.cols >= 4 ? simdKernelsFor(backend) : null;
    if (split === null || simd === null) return stock(args as Parameters<tf.KernelFunc>[0]);
    const out = backend.makeOutput(big.shape, 'float32');
    simd.mulrows(
      addressOf(backend, big),
      addressOf(backend, small),
      addressOf(backend, out),
      split.rows,
      split.cols,
    );
    return out;
  };
  return kernelFunc as tf.KernelFunc;
}
