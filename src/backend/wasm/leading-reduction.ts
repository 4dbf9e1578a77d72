// Sum and Mean over a tensor's leading axes, as batch norm's training and gradient steps
// ask for them ([N, H, W, C] over [0, 1, 2]: one value a channel). The stock wasm kernels
// transpose the reduced axes to the end first (a full copy of the activation) and then
// reduce each channel's strided values; here the tensor is seen as a [rows, cols] matrix
// and its rows are added, four channels per SIMD instruction (colsum in simd/kernels.wat).
// Anything else (other axes, non-float32, fewer than 4 values a row, no SIMD) goes to the
// stock kernel.
import * as tf from '@tensorflow/tfjs';
import { disposeIntermediate, type BackendWasm } from './kernel-utils.js';
import { addressOf, simdKernelsFor } from './simd/index.js';

/** rows x cols of a reduction over axes 0..k-1 of `shape`, or null for other axes. */
export function leadingSplit(
  shape: number[],
  axis: number | number[],
): { rows: number; cols: number; outShape: number[]; keptShape: number[] } | null {
  const axes = tf.util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((a, i) => a !== i) || axes.length === shape.length) {
    return null;
  }
  const k = axes.length;
  const rows = shape.slice(0, k).reduce((a, b) => a * b, 1);
  const rest = shape.slice(k);
  const cols = rest.reduce((a, b) => a * b, 1);
  return { rows, cols, outShape: rest, keptShape: [...shape.slice(0, k).map(() => 1), ...rest] };
}

/** Builds Sum (scaleByRows false) or Mean (true) over leading axes; `stock` otherwise. */
export function makeLeadingReduction(stock: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = (args.attrs ?? {}) as unknown as tf.SumAttrs;
    const split = x.dtype === 'float32' ? leadingSplit(x.shape, axis) : null;
    const simd =
      split !== null && split.cols >= 4 && split.rows > 1 ? simdKernelsFor(backend) : null;
    if (split === null || simd === null) return stock(args as Parameters<tf.KernelFunc>[0]);
    const out = backend.makeOutput(keepDims ? split.keptShape : split.outShape, 'float32');
    const part = backend.makeOutput([split.cols], 'float32');
    simd.colsum(
      addressOf(backend, x),
      addressOf(backend, out),
      addressOf(backend, part),
      split.rows,
      split.cols,
      mean ? 1 / split.rows : 1,
    );
    disposeIntermediate(backend, part);
    return out;
  };
  return kernelFunc as tf.KernelFunc;
}

/** The Sum replacement. */
export const makeSum = (stock: tf.KernelFunc): tf.KernelFunc => makeLeadingReduction(stock, false);
/** The Mean replacement. */
export const makeMean = (stock: tf.KernelFunc): tf.KernelFunc => makeLeadingReduction(stock, true);
