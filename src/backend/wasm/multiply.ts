// A faster Multiply for the wasm backend, for float32 operands of the same shape or where
// one broadcasts over the other's leading axes ([N, H, W, C] times [C] or [1, 1, 1, C]: batch
// norm's scale and its gradient). The stock kernel runs its general broadcasting loop for
// these; here one SIMD pass (mulrows in simd/kernels.wat) multiplies each row by the small
// operand. Everything else (other broadcasts, non-float32, rows under 4 values, no SIMD)
// goes to the stock kernel. The product is one float32 multiply either way, as on cpu.
import type * as tf from '@tensorflow/tfjs';
import { makeRowBroadcastKernel } from './row-broadcast.js';

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeMultiply(stock: tf.KernelFunc): tf.KernelFunc {
  return makeRowBroadcastKernel(stock, 'mulrows', { sameShapes: true });
}
