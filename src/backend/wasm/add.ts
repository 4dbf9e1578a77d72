// A faster Add for the wasm backend, for float32 operands where one broadcasts over the
// other's leading axes ([N, H, W, C] plus [C]: every convolution's and dense layer's bias).
// The stock kernel runs its general broadcasting loop for these (1.2 ms for LeNet-5's first
// bias at batch 64, ten times a same-shape Add); here one SIMD pass (addrows in
// simd/kernels.wat) adds the small operand to each row. Same shapes (already fast), other
// broadcasts, non-float32, rows under 4 values and no SIMD go to the stock kernel. The sum
// is one float32 add either way, as on cpu.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel-utils.js';
import { rowBroadcast } from './multiply.js';
import { addressOf, simdKernelsFor } from './simd/index.js';

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeAdd(stock: tf.KernelFunc): tf.KernelFunc {
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
    const sizeA = tf.util.sizeFromShape(a.shape);
    const sizeB = tf.util.sizeFromShape(b.shape);
    const [big, small] = sizeA >= sizeB ? [a, b] : [b, a];
    const split = sizeA !== sizeB ? rowBroadcast(big.shape, small.shape) : null;
    const simd = split !== null && split.cols >= 4 ? simdKernelsFor(backend) : null;
    if (split === null || simd === null) return stock(args as Parameters<tf.KernelFunc>[0]);
    const out = backend.makeOutput(big.shape, 'float32');
    simd.addrows(
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
