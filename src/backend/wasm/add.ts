// A faster Add for the wasm backend, for float32 operands where one broadcasts over the
// other's leading axes ([N, H, W, C] plus [C]: every convolution's and dense layer's bias).
// The stock kernel runs its general broadcasting loop for these (1.2 ms for LeNet-5's first
// bias at batch 64, ten times a same-shape Add); here one SIMD pass (addrows in
// simd/kernels.wat) adds the small operand to each row. Same shapes (already fast), other
// broadcasts, non-float32, rows under 4 values and no SIMD go to the stock kernel. The sum
// is one float32 add either way, as on cpu.
import type * as tf from '@tensorflow/tfjs';
import { makeRowBroadcastKernel } from './row-broadcast.js';

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeAdd(stock: tf.KernelFunc): tf.KernelFunc {
  return makeRowBroadcastKernel(stock, 'addrows', { sameShapes: false });
}
