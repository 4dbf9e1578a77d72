// Elementwise float32 kernels for the wasm backend where one operand broadcasts over the
// other's leading axes ([N, H, W, C] with [C] or [1, 1, 1, C]: biases, batch norm's scale):
// the tensor as [rows, cols] and one SIMD pass over the rows (addrows / mulrows in
// simd/kernels.wat). Shared by Add (add.ts) and Multiply (multiply.ts).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel-utils.js';
import { addressOf, simdKernelsFor, type SimdKernels } from './simd/index.js';

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

/**
 * A binary kernel that runs `pass` (a SIMD row kernel) for float32 row broadcasts with rows
 * of at least 4 values, `stock` for everything else; with `sameShapes: false` operands of
 * equal size go to `stock` too. The result is one float32 operation per value either way.
 */
export function makeRowBroadcastKernel(
  stock: tf.KernelFunc,
  pass: 'addrows' | 'mulrows',
  { sameShapes }: { sameShapes: boolean },
): tf.KernelFunc {
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
    const split = sameShapes || sizeA !== sizeB ? rowBroadcast(big.shape, small.shape) : null;
    const simd: SimdKernels | null =
      split !== null && split.cols >= 4 ? simdKernelsFor(backend) : null;
    if (split === null || simd === null) return stock(args as Parameters<tf.KernelFunc>[0]);
    const out = backend.makeOutput(big.shape, 'float32');
    simd[pass](
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
