// Sum and Mean for the wasm backend, accumulated in double.
//
// The stock wasm kernels add float32 values one after another into a float32 accumulator:
// over a weight tensor of 37,632 values the mean |w| is off by ~5e-7 relative, where the
// cpu backend (which adds in JavaScript doubles) and PyTorch (pairwise float32 sums) are
// within an ulp of the exact value. The quantizers' scales are such means (UnifQuantizer's
// mean |w|, greedy LSBQ's mean |r| per bit), so on wasm the levels moved by that much, and a
// weight sitting that close to a midpoint went to the other level: a training trajectory
// that the cpu backend follows to 3e-7 for 200 steps left the reference at step 51
// (conformance/trajectories-48-24.json). Here every output is one double sum (over a
// contiguous range: four interleaved ones, see sumRange), rounded once to float32, for any
// set of reduced axes that is contiguous in the shape (all of them in parq-ts); other cases,
// and non-float32 inputs, go to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel-utils.js';
import { simdKernelsFor, type SimdKernels } from './simd/index.js';

interface Layout {
  outer: number;
  reduce: number;
  inner: number;
  outShape: number[];
}

/** `[outer, reduce, inner]` for reduced axes that form one contiguous range, else null. */
export function reduceLayout(
  shape: readonly number[],
  axis: number | number[],
  keepDims: boolean,
): Layout | null {
  const axes = [...new Set(tf.util.parseAxisParam(axis, [...shape]))].sort((a, b) => a - b);
  if (axes.length === 0) return null;
  const a0 = axes[0];
  const a1 = axes[axes.length - 1];
  if (a1 - a0 + 1 !== axes.length) return null;
  const prod = (xs: readonly number[]) => xs.reduce((p, d) => p * d, 1);
  const outShape = keepDims
    ? shape.map((d, i) => (i >= a0 && i <= a1 ? 1 : d))
    : shape.filter((_, i) => i < a0 || i > a1);
  return {
    outer: prod(shape.slice(0, a0)),
    reduce: prod(shape.slice(a0, a1 + 1)),
    inner: prod(shape.slice(a1 + 1)),
    outShape,
  };
}

/**
 * The double sum of `x[base .. base + n)` in the order of the contiguous reductions: four
 * partial sums, value r into sum r % 4 in order, then `(s0 + s1) + (s2 + s3)`. Four chains
 * instead of one: a single chain waits on each add's latency, and the sum of 200k weights
 * took 0.3 ms. Greedy LSBQ's kernel (src/quant/lsbq-kernel.ts) adds its mean |r| in this
 * order too, so it equals the composed ops bit for bit.
 */
export function sumRange(x: Float32Array, base: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = base + n;
  let i = base;
  for (; i + 4 <= end; i += 4) {
    s0 += x[i];
    s1 += x[i + 1];
    s2 += x[i + 2];
    s3 += x[i + 3];
  }
  if (i < end) s0 += x[i];
  if (i + 1 < end) s1 += x[i + 1];
  if (i + 2 < end) s2 += x[i + 2];
  return s0 + s1 + (s2 + s3);
}

/**
 * out[o, i] = sum over r of x[o, r, i] (in double), divided by `divisor`, rounded once: over a
 * contiguous range (inner = 1) in `sumRange`'s order, else in the order of r. `simd`: the
 * SIMD module over the heap that `x` views, whose sum4 adds in sumRange's order (the same
 * bits, two values an instruction).
 */
export function sumInto(
  x: Float32Array,
  out: Float32Array,
  l: Layout,
  divisor: number,
  simd: SimdKernels | null = null,
): void {
  const { outer, reduce, inner } = l;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * reduce;
      const sum =
        simd !== null
          ? simd.sum4(x.byteOffset + 4 * base, reduce, 0, 0)
          : sumRange(x, base, reduce);
      out[o] = sum / divisor;
    }
    return;
  }
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    for (let r = 0; r < reduce; r++) {
      const base = (o * reduce + r) * inner;
      for (let i = 0; i < inner; i++) acc[i] += x[base + i];
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i] / divisor;
  }
}

function makeReduce(stock: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = (args.attrs ?? {}) as unknown as tf.SumAttrs;
    const layout = x.dtype === 'float32' ? reduceLayout(x.shape, axis, keepDims) : null;
    if (layout === null || layout.reduce === 0) return stock(args as Parameters<tf.KernelFunc>[0]);
    const out = backend.makeOutput(layout.outShape, 'float32');
    // makeOutput may grow the heap: take the views after it
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    const os = backend.typedArrayFromHeap(out) as Float32Array;
    const simd = layout.inner === 1 ? simdKernelsFor(backend) : null;
    sumInto(xs, os, layout, mean ? layout.reduce : 1, simd);
    return out;
  };
  return kernelFunc as tf.KernelFunc;
}

export const makeExactSum = (stock: tf.KernelFunc): tf.KernelFunc => makeReduce(stock, false);
export const makeExactMean = (stock: tf.KernelFunc): tf.KernelFunc => makeReduce(stock, true);
