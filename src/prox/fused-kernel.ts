/**
 * One fused kernel for every prox map: a single pass over the weights that
 * finds each weight's interval among its group's levels and applies the map.
 *
 * Composed from tfjs ops, a map is a dozen kernel launches over `n * k`
 * intermediates; fused, it is one pass. The kernel `ParqProxMap` is registered
 * for the backends that keep tensors in memory JavaScript can address (cpu:
 * typed arrays; wasm: the module's heap), so it runs on the model's backend
 * with no copy and no read-back. Other backends (webgl, webgpu, tensorflow) use
 * the composed ops, which compute the same values.
 */
import * as tf from '@tensorflow/tfjs';
import { bracketLevels, nearestLevel } from './levels.js';

export const PROX_KERNEL = 'ParqProxMap';

/** hard: nearest level; parq: piecewise affine (param = inverse slope); relax: BinaryRelax (param = theta); soft: SoftQuant (param = temperature). */
export type ProxMode = 'hard' | 'parq' | 'relax' | 'soft';

const MODE_CODE: Record<ProxMode, number> = { hard: 0, parq: 1, relax: 2, soft: 3 };
const f32 = Math.fround;

/**
 * The map over raw arrays: `x` and `out` are a view `[A, M, C]`, `levels` is
 * `[A, k, C]` ascending along k. Float32 rounding is applied where tfjs's
 * float32 ops round, so results match the composed ops. Per group, the
 * interval ends and centers are tabulated by interval index, and the index is
 * a branch-free count (`+(v > t)`: a `? 1 : 0` compiles to a
 * mispredicted branch) of the thresholds (levels, or midpoints) below the
 * weight: four unrolled compares against thresholds padded with +Infinity up
 * to 2 bits and ternary, a loop beyond.
 */
export function proxLoop(
  x: Float32Array,
  levels: Float32Array,
  shape: readonly [number, number, number],
  k: number,
  mode: number,
  param: number,
  out: Float32Array,
): void {
  const [A, M, C] = shape;
  const lv = new Float32Array(k);
  const th = new Float64Array(Math.max(k, 4));
  const lower = new Float32Array(k + 1);
  const upper = new Float32Array(k + 1);
  const center = new Float32Array(k + 1);
  // tfjs turns JS numbers into float32 scalars: round the parameters alike
  const p32 = f32(param);
  const keep32 = f32(1 - param);
  const norm32 = mode === 3 ? f32(1 / (1 + Math.exp(-0.5 * param)) - 0.5) : 0;
  // hard and relax look for the nearest level (midpoints), parq and soft for the interval (levels)
  const nth = mode === 0 || mode === 2 ? k - 1 : k;
  const small = nth <= 4;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const qBase = a * k * C + c;
      for (let j = 0; j < k; j++) lv[j] = levels[qBase + j * C];
      for (let j = 0; j <= k; j++) {
        lower[j] = lv[j > 0 ? j - 1 : 0];
        upper[j] = lv[j < k ? j : k - 1];
        center[j] = f32(f32(lower[j] + upper[j]) * 0.5);
      }
      th.fill(Infinity);
      for (let t = 0; t < nth; t++) th[t] = nth === k ? lv[t] : f32(f32(lv[t] + lv[t + 1]) * 0.5);
      const t0 = th[0];
      const t1 = th[1];
      const t2 = th[2];
      const t3 = th[3];
      const index = (v: number): number => {
        if (small) return +(v > t0) + +(v > t1) + +(v > t2) + +(v > t3);
        let j = 0;
        for (let t = 0; t < nth; t++) j += +(v > th[t]);
        return j;
      };
      const start = a * M * C + c;
      const end = start + M * C;
      if (mode === 0) {
        for (let i = start; i < end; i += C) out[i] = lv[index(x[i])];
      } else if (mode === 2) {
        for (let i = start; i < end; i += C) {
          const v = x[i];
          out[i] = f32(f32(v * keep32) + f32(lv[index(v)] * p32));
        }
      } else if (mode === 1 && p32 >= 1e-6) {
        // In double, then rounded once at the store (tfjs rounds each op to
        // float32: results agree to an ulp). clamp(m, lo, up) without a branch,
        // which would mispredict half the time: the abs form is exact to double
        // rounding while |m| stays within ~1e6 interval widths, as it does here.
        const slope = 1 / p32;
        for (let i = start; i < end; i += C) {
          const v = x[i];
          const j = index(v);
          const cj = center[j];
          const m = cj + (v - cj) * slope;
          out[i] = (Math.abs(m - lower[j]) - Math.abs(m - upper[j]) + lower[j] + upper[j]) * 0.5;
        }
      } else if (mode === 1) {
        // nearly hard: almost every weight is clamped, so the branch predicts well
        for (let i = start; i < end; i += C) {
          const v = x[i];
          const j = index(v);
          const cj = center[j];
          const m = cj + f32(v - cj) / p32; // in double: finite even for the tiniest slope
          const lo = lower[j];
          const up = upper[j];
          out[i] = m < lo ? lo : m > up ? up : m;
        }
      } else {
        for (let i = start; i < end; i += C) {
          const v = x[i];
          const j = index(v);
          const lo = lower[j];
          const up = upper[j];
          const clamped = v < lo ? lo : v > up ? up : v;
          const width = f32(up - lo);
          const frac = f32(f32(clamped - lo) / f32(width + 1e-12));
          const sx = 1 / (1 + Math.exp(-f32(f32(frac - 0.5) * p32)));
          const norm = f32(f32(sx - 0.5) / norm32);
          out[i] = f32(center[j] + f32(f32(width * 0.5) * norm));
        }
      }
    }
  }
}

interface Attrs {
  mode: number;
  param: number;
}

type Arrays = (t: tf.TensorInfo) => Float32Array;

function kernelFunc(
  read: Arrays,
  make: (shape: number[]) => { info: tf.TensorInfo; values: Float32Array },
) {
  return ({ inputs, attrs }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }) => {
    const { x, levels } = inputs as { x: tf.TensorInfo; levels: tf.TensorInfo };
    const { mode, param } = attrs as unknown as Attrs;
    const shape = x.shape as [number, number, number];
    const { info, values } = make(shape);
    proxLoop(read(x), read(levels), shape, levels.shape[1], mode, param, values);
    return info;
  };
}

function registerFor(backendName: string, config: tf.KernelConfig): void {
  if (!tf.getKernel(PROX_KERNEL, backendName)) tf.registerKernel(config);
}

/** Register the fused kernel for cpu and wasm (no-op where registered). */
export function registerProxKernels(): void {
  registerFor('cpu', {
    kernelName: PROX_KERNEL,
    backendName: 'cpu',
    kernelFunc: ((args: any) => {
      const backend = args.backend as any;
      return kernelFunc(
        (t) => backend.data.get(t.dataId).values as Float32Array,
        (shape) => {
          const values = new Float32Array(shape[0] * shape[1] * shape[2]);
          return { info: backend.makeTensorInfo(shape, 'float32', values), values };
        },
      )(args);
    }) as tf.KernelFunc,
  });
  registerFor('wasm', {
    kernelName: PROX_KERNEL,
    backendName: 'wasm',
    kernelFunc: ((args: any) => {
      const backend = args.backend as any;
      return kernelFunc(
        (t) => backend.typedArrayFromHeap(t) as Float32Array,
        (shape) => {
          const info = backend.makeOutput(shape, 'float32');
          return { info, values: backend.typedArrayFromHeap(info) as Float32Array };
        },
      )(args);
    }) as tf.KernelFunc,
  });
}

/** The same maps composed from tfjs ops, for backends without the fused kernel. */
export function composedProx(
  x: tf.Tensor3D,
  Q: tf.Tensor3D,
  mode: ProxMode,
  param: number,
): tf.Tensor3D {
  return tf.tidy(() => {
    if (mode === 'hard') return nearestLevel(x, Q);
    if (mode === 'relax')
      return tf.add(tf.mul(x, 1 - param), tf.mul(nearestLevel(x, Q), param)) as tf.Tensor3D;
    const { lower, upper } = bracketLevels(x, Q);
    const center = tf.mul(tf.add(lower, upper), 0.5);
    if (mode === 'parq') {
      const moved = tf.add(center, tf.div(tf.sub(x, center), param));
      return tf.minimum(tf.maximum(moved, lower), upper) as tf.Tensor3D;
    }
    const s2 = 1 / (1 + Math.exp(-0.5 * param));
    const clamped = tf.minimum(tf.maximum(x, lower), upper);
    const width = tf.sub(upper, lower);
    const frac = tf.div(tf.sub(clamped, lower), tf.add(width, 1e-12));
    const sx = tf.sigmoid(tf.mul(tf.sub(frac, 0.5), param));
    const norm = tf.div(tf.sub(sx, 0.5), s2 - 0.5);
    return tf.add(center, tf.mul(tf.mul(width, 0.5), norm)) as tf.Tensor3D;
  });
}

/** Apply a prox map to a view: the fused kernel where the backend has it, else composed ops. */
export function applyProxMode(
  x: tf.Tensor3D,
  Q: tf.Tensor3D,
  mode: ProxMode,
  param = 0,
): tf.Tensor3D {
  registerProxKernels();
  if (tf.getKernel(PROX_KERNEL, tf.getBackend())) {
    const attrs = { mode: MODE_CODE[mode], param } as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(PROX_KERNEL, { x, levels: Q }, attrs) as tf.Tensor3D;
  }
  return composedProx(x, Q, mode, param);
}
