// The fused training batch norm (../batch-norm-training.ts) on the wasm backend: a forward
// and a gradient kernel, each two passes over the activation in the heap instead of the
// ~25 elementwise kernels (and their copies) of tfjs-layers' composition.
//   forward:  pass 1, per-channel sums of d = x - x[0] and d * d in double (bn_sums: the
//             first row as shift keeps the variance from cancelling); mean and variance
//             from them; pass 2, y = (x - mean) * gamma / sqrt(var + eps) + beta (bn_affine).
//   gradient: pass 1, sum dy and sum dy * (x - mean) in double (bn_sums with g = dy); the
//             per-channel coefficients of the formula in ../batch-norm-training.ts; pass 2,
//             dx = dy * A + (x - mean) * B + C (bn_affine with g = dy).
// The x-sized passes run in SIMD (simd/kernels.wat) where the module runs and the channel
// count is a multiple of 4 (its sums in float32 down chunks of 32 rows, each chunk added in
// double: 4x fewer operations than widening every vector); otherwise the same arithmetic runs
// as loops over heap views (summed in double throughout).
// The per-channel coefficients (a few values a channel) are computed in JavaScript from
// the sums in the heap: reading the wasm heap is the kernel's own memory, not a read-back.
import * as tf from '@tensorflow/tfjs';
import {
  BATCH_NORM_TRAINING,
  BATCH_NORM_TRAINING_GRAD,
  type BatchNormTrainingAttrs,
} from '../batch-norm-training.js';
import {
  assertFloat32,
  disposeIntermediate,
  heapF32,
  WASM,
  type BackendWasm,
} from './kernel-utils.js';
import { addressOf, simdKernelsFor, type SimdKernels } from './simd/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** rows x cols of x seen as one row a position, one column a channel. */
function split(x: tf.TensorInfo): { rows: number; cols: number } {
  const cols = x.shape[x.shape.length - 1];
  return { rows: cols === 0 ? 0 : tf.util.sizeFromShape(x.shape) / cols, cols };
}

/** SIMD kernels for x's layout, or null (no module, or channels not a multiple of 4). */
function simdFor(backend: BackendWasm, cols: number): SimdKernels | null {
  return cols % 4 === 0 && cols > 0 ? simdKernelsFor(backend) : null;
}

/**
 * Scratch for two rows of `cols` doubles (s1, s2) in the heap, 8-byte aligned: the tensor
 * to release, the byte addresses and Float64Array views (taken after every makeOutput).
 */
function doubleScratch(backend: BackendWasm, cols: number) {
  const info = backend.makeOutput([4 * cols + 2], 'float32');
  const base = (addressOf(backend, info) + 7) & ~7;
  return {
    info,
    s1: base,
    s2: base + 8 * cols,
    views: () => {
      const buf = heapF32(backend, info).buffer;
      return {
        s1: new Float64Array(buf, base, cols),
        s2: new Float64Array(buf, base + 8 * cols, cols),
      };
    },
  };
}

/** Per-channel sums of d = x - shift (g null: s1 += d, s2 += d * d; else s1 += g, s2 += g * d). */
function sumsJS(
  x: Float32Array,
  shift: Float32Array,
  g: Float32Array | null,
  s1: Float64Array,
  s2: Float64Array,
  rows: number,
  cols: number,
): void {
  s1.fill(0);
  s2.fill(0);
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, i++) {
      const d = Math.fround(x[i] - shift[c]);
      const a = g === null ? d : g[i];
      s1[c] += a;
      s2[c] += Math.fround(a * d);
    }
  }
}

/** out = (x - mean) * scale + shift (+ g * gscale), float32 per operation as bn_affine. */
function affineJS(
  x: Float32Array,
  mean: Float32Array,
  scale: Float32Array,
  shift: Float32Array,
  g: Float32Array | null,
  gscale: Float32Array,
  out: Float32Array,
  rows: number,
  cols: number,
): void {
  const f = Math.fround;
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, i++) {
      const v = f(f(f(x[i] - mean[c]) * scale[c]) + shift[c]);
      out[i] = g === null ? v : f(v + f(g[i] * gscale[c]));
    }
  }
}

function batchNormTraining(args: Args): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
  const { epsilon } = args.attrs as unknown as BatchNormTrainingAttrs;
  assertFloat32(BATCH_NORM_TRAINING, { x, gamma, beta });
  const { rows, cols } = split(x);
  const y = backend.makeOutput(x.shape, 'float32');
  const mean = backend.makeOutput([cols], 'float32');
  const variance = backend.makeOutput([cols], 'float32');
  const scale = backend.makeOutput([cols], 'float32');
  const sums = doubleScratch(backend, cols);
  const simd = simdFor(backend, cols);
  // shift = the first row of x (none in an empty batch: the moments are NaN there)
  if (simd && rows > 0) {
    simd.bn_sums(addressOf(backend, x), addressOf(backend, x), 0, sums.s1, sums.s2, rows, cols);
  } else {
    const xv = heapF32(backend, x);
    const { s1, s2 } = sums.views();
    sumsJS(xv, xv.subarray(0, cols), null, s1, s2, rows, cols);
  }
  const xv = heapF32(backend, x);
  const [mv, vv, sv, gv] = [mean, variance, scale, gamma].map((t) => heapF32(backend, t));
  const { s1, s2 } = sums.views();
  for (let c = 0; c < cols; c++) {
    const m1 = s1[c] / rows;
    mv[c] = rows > 0 ? xv[c] + m1 : NaN;
    vv[c] = Math.max(0, s2[c] / rows - m1 * m1);
    sv[c] = gv[c] / Math.sqrt(vv[c] + epsilon);
  }
  if (simd) {
    simd.bn_affine(
      addressOf(backend, x),
      addressOf(backend, mean),
      addressOf(backend, scale),
      addressOf(backend, beta),
      0,
      0,
      addressOf(backend, y),
      rows,
      cols,
    );
  } else {
    const bv = heapF32(backend, beta);
    affineJS(xv, mv, sv, bv, null, sv, heapF32(backend, y), rows, cols);
  }
  disposeIntermediate(backend, scale);
  disposeIntermediate(backend, sums.info);
  return [y, mean, variance];
}

function batchNormTrainingGrad(args: Args): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const inputs = args.inputs as Record<
    'dy' | 'x' | 'gamma' | 'mean' | 'variance' | 'dmean' | 'dvariance',
    tf.TensorInfo
  >;
  const { dy, x, gamma, mean, variance, dmean, dvariance } = inputs;
  const { epsilon } = args.attrs as unknown as BatchNormTrainingAttrs;
  assertFloat32(BATCH_NORM_TRAINING_GRAD, inputs);
  const { rows, cols } = split(x);
  const dx = backend.makeOutput(x.shape, 'float32');
  const dgamma = backend.makeOutput([cols], 'float32');
  const dbeta = backend.makeOutput([cols], 'float32');
  const coef = backend.makeOutput([2 * cols], 'float32'); // A (of dy), then B (of x - mean)
  const shiftC = backend.makeOutput([cols], 'float32'); // C
  const sums = doubleScratch(backend, cols);
  const simd = simdFor(backend, cols);
  if (simd) {
    simd.bn_sums(
      addressOf(backend, x),
      addressOf(backend, mean),
      addressOf(backend, dy),
      sums.s1,
      sums.s2,
      rows,
      cols,
    );
  } else {
    const { s1, s2 } = sums.views();
    sumsJS(heapF32(backend, x), heapF32(backend, mean), heapF32(backend, dy), s1, s2, rows, cols);
  }
  const [gv, vv, dmv, dvv, dgv, dbv, cv, kv] = [
    gamma,
    variance,
    dmean,
    dvariance,
    dgamma,
    dbeta,
    coef,
    shiftC,
  ].map((t) => heapF32(backend, t));
  const { s1, s2 } = sums.views();
  const n = Math.max(rows, 1);
  for (let c = 0; c < cols; c++) {
    const s = 1 / Math.sqrt(vv[c] + epsilon);
    const gs = gv[c] * s;
    dbv[c] = s1[c];
    dgv[c] = s2[c] * s;
    cv[c] = gs; // A: the factor of dy
    cv[cols + c] = (-gs * s * s * s2[c]) / n + (2 * dvv[c]) / n; // B: of x - mean
    kv[c] = (-gs * s1[c]) / n + dmv[c] / n; // C
  }
  const a = addressOf(backend, coef);
  if (simd) {
    simd.bn_affine(
      addressOf(backend, x),
      addressOf(backend, mean),
      a + 4 * cols,
      addressOf(backend, shiftC),
      addressOf(backend, dy),
      a,
      addressOf(backend, dx),
      rows,
      cols,
    );
  } else {
    const cvNow = heapF32(backend, coef);
    affineJS(
      heapF32(backend, x),
      heapF32(backend, mean),
      cvNow.subarray(cols),
      heapF32(backend, shiftC),
      heapF32(backend, dy),
      cvNow.subarray(0, cols),
      heapF32(backend, dx),
      rows,
      cols,
    );
  }
  for (const t of [coef, shiftC, sums.info]) disposeIntermediate(backend, t);
  return [dx, dgamma, dbeta];
}

/** The fused kernels parq-ts registers for the wasm backend (register.ts). */
export const batchNormTrainingConfigs: readonly tf.KernelConfig[] = [
  {
    kernelName: BATCH_NORM_TRAINING,
    backendName: WASM,
    kernelFunc: batchNormTraining as tf.KernelFunc,
  },
  {
    kernelName: BATCH_NORM_TRAINING_GRAD,
    backendName: WASM,
    kernelFunc: batchNormTrainingGrad as tf.KernelFunc,
  },
];
