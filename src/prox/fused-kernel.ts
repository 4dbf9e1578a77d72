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
import { registerHostKernel, type HostArrays } from '../backend/host-arrays.js';
import { bracketLevels, nearestLevel } from '../quant/levels.js';
import { type SimdProx, simdProxFor, type SimdProxVariant, simdProxVariant } from './simd/index.js';
import { PROX_MODES, type ProxMode } from './kernel-modes.js';

export const PROX_KERNEL = 'ParqProxMap';

/** hard: nearest level; parq: piecewise affine (param = inverse slope); relax: BinaryRelax (param = theta); soft: SoftQuant (param = temperature). */
export type { ProxMode };

const MODE_CODE = PROX_MODES;
const f32 = Math.fround;

/** Number of thresholds `th[0..n)` strictly below `v` (a loop: for more than four). */
function countBelowLoop(v: number, th: Float64Array, n: number): number {
  let j = 0;
  for (let t = 0; t < n; t++) j += +(v > th[t]);
  return j;
}

/**
 * Tables of one group: levels, interval ends and centers by interval index,
 * and the thresholds (levels, or midpoints) padded with +Infinity to four.
 */
class GroupTables {
  readonly lv: Float32Array;
  readonly lower: Float32Array;
  readonly upper: Float32Array;
  readonly center: Float32Array;
  readonly th: Float64Array;

  constructor(readonly k: number) {
    this.lv = new Float32Array(k);
    this.lower = new Float32Array(k + 1);
    this.upper = new Float32Array(k + 1);
    this.center = new Float32Array(k + 1);
    this.th = new Float64Array(Math.max(k, 4));
  }

  load(levels: Float32Array, base: number, stride: number, midpoints: boolean): number {
    const { k, lv, lower, upper, center, th } = this;
    for (let j = 0; j < k; j++) lv[j] = levels[base + j * stride];
    for (let j = 0; j <= k; j++) {
      lower[j] = lv[j > 0 ? j - 1 : 0];
      upper[j] = lv[j < k ? j : k - 1];
      center[j] = f32(f32(lower[j] + upper[j]) * 0.5);
    }
    const n = midpoints ? k - 1 : k;
    th.fill(Infinity);
    for (let t = 0; t < n; t++) th[t] = midpoints ? f32(f32(lv[t] + lv[t + 1]) * 0.5) : lv[t];
    return n;
  }
}

/**
 * The tables of `k` levels, one object per k for the whole process: filled anew by `load` for
 * each group (kernels run one at a time), so a call allocates nothing for them.
 */
const tablesByK = new Map<number, GroupTables>();
function tablesFor(k: number): GroupTables {
  let g = tablesByK.get(k);
  if (!g) {
    g = new GroupTables(k);
    tablesByK.set(k, g);
  }
  return g;
}

// The hot loops, one function per map so each stays monomorphic. The interval
// index is a branch-free count (`+(v > t)`; a `? 1 : 0` compiles to a branch
// that mispredicts on real weights): four unrolled compares against thresholds
// padded with +Infinity cover 1 and 2 bits and ternary; more levels loop.

function hardLoop(
  x: Float32Array,
  out: Float32Array,
  i0: number,
  i1: number,
  C: number,
  g: GroupTables,
  n: number,
): void {
  const { lv, th } = g;
  const [t0, t1, t2, t3] = th;
  if (n <= 4) {
    for (let i = i0; i < i1; i += C) {
      const v = x[i];
      out[i] = lv[+(v > t0) + +(v > t1) + +(v > t2) + +(v > t3)];
    }
  } else {
    for (let i = i0; i < i1; i += C) out[i] = lv[countBelowLoop(x[i], th, n)];
  }
}

function relaxLoop(
  x: Float32Array,
  out: Float32Array,
  i0: number,
  i1: number,
  C: number,
  g: GroupTables,
  n: number,
  theta: number,
): void {
  const { lv, th } = g;
  const [t0, t1, t2, t3] = th;
  const keep = f32(1 - theta);
  const take = f32(theta);
  for (let i = i0; i < i1; i += C) {
    const v = x[i];
    const j = n <= 4 ? +(v > t0) + +(v > t1) + +(v > t2) + +(v > t3) : countBelowLoop(v, th, n);
    out[i] = f32(f32(v * keep) + f32(lv[j] * take));
  }
}

/**
 * PARQ: `clamp(c + (v - c) / s, lo, up)`. While the inverse slope s is at least
 * 1e-6 this is computed in double and rounded once at the store (tfjs rounds
 * each op to float32: they agree to an ulp), with the clamp as
 * `(|m - lo| - |m - up| + lo + up) / 2`: no branch to mispredict, and exact to
 * double rounding while |m| stays within ~1e6 interval widths. Below 1e-6
 * nearly every weight is clamped, so a plain branch predicts well there.
 */
function parqLoop(
  x: Float32Array,
  out: Float32Array,
  i0: number,
  i1: number,
  C: number,
  g: GroupTables,
  n: number,
  invSlope: number,
): void {
  const { lower, upper, center, th } = g;
  const [t0, t1, t2, t3] = th;
  if (invSlope >= 1e-6 && n <= 4) {
    const slope = 1 / invSlope;
    for (let i = i0; i < i1; i += C) {
      const v = x[i];
      const j = +(v > t0) + +(v > t1) + +(v > t2) + +(v > t3);
      const cj = center[j];
      const m = cj + (v - cj) * slope;
      out[i] = (Math.abs(m - lower[j]) - Math.abs(m - upper[j]) + lower[j] + upper[j]) * 0.5;
    }
    return;
  }
  for (let i = i0; i < i1; i += C) {
    const v = x[i];
    const j = countBelowLoop(v, th, n);
    const cj = center[j];
    const m = cj + f32(v - cj) / invSlope; // in double: finite even for the tiniest slope
    const lo = lower[j];
    const up = upper[j];
    out[i] = m < lo ? lo : m > up ? up : m;
  }
}

function softLoop(
  x: Float32Array,
  out: Float32Array,
  i0: number,
  i1: number,
  C: number,
  g: GroupTables,
  n: number,
  temperature: number,
): void {
  const { lower, upper, center, th } = g;
  const norm32 = f32(1 / (1 + Math.exp(-0.5 * temperature)) - 0.5);
  const t32 = f32(temperature);
  for (let i = i0; i < i1; i += C) {
    const v = x[i];
    const j = countBelowLoop(v, th, n);
    const lo = lower[j];
    const up = upper[j];
    const clamped = v < lo ? lo : v > up ? up : v;
    const width = f32(up - lo);
    const frac = f32(f32(clamped - lo) / f32(width + 1e-12));
    const sx = 1 / (1 + Math.exp(-f32(f32(frac - 0.5) * t32)));
    const norm = f32(f32(sx - 0.5) / norm32);
    out[i] = f32(center[j] + f32(f32(width * 0.5) * norm));
  }
}

/**
 * The map over raw arrays: `x` and `out` are a view `[A, M, C]`, `levels` is
 * `[A, k, C]` ascending along k; `mode` 0 hard, 1 PARQ (param: inverse slope),
 * 2 BinaryRelax (param: theta), 3 SoftQuant (param: temperature). Parameters
 * are rounded to float32 as tfjs rounds JS numbers into scalars.
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
  const g = tablesFor(k);
  const p32 = f32(param);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      // hard and relax look for the nearest level (midpoints), parq and soft for the interval
      const n = g.load(
        levels,
        a * k * C + c,
        C,
        mode === PROX_MODES.hard || mode === PROX_MODES.relax,
      );
      const i0 = a * M * C + c;
      const i1 = i0 + M * C;
      if (mode === PROX_MODES.hard) hardLoop(x, out, i0, i1, C, g, n);
      else if (mode === PROX_MODES.parq) parqLoop(x, out, i0, i1, C, g, n, p32);
      else if (mode === PROX_MODES.relax) relaxLoop(x, out, i0, i1, C, g, n, param);
      else softLoop(x, out, i0, i1, C, g, n, param);
    }
  }
}

interface Attrs {
  mode: number;
  param: number;
}

/** Byte addresses of a view's input, output and levels in the wasm heap. */
export interface ViewAddresses {
  x: number;
  out: number;
  levels: number;
}

/** Float32 views of the same three (on wasm: taken after the kernel's last allocation). */
export interface ViewArrays {
  x: Float32Array;
  out: Float32Array;
  levels: Float32Array;
}

/**
 * One map over one view `[A, M, C]` (levels `[A, k, C]`): whole (`all`, the ParqProxMap
 * kernel), or a slab of rows at a time (`rows`: the fused step, src/optim/fused-step.ts, maps
 * each slab right after its base update wrote it, while it is in cache). On the SIMD module
 * where it covers the case (k <= 4, not SoftQuant, `simd` and `at` given: contiguous groups a
 * call each, channel lanes on the last axis), else in the JavaScript loop on `arrays` (taken
 * once, at the first use). Each weight's map depends only on it and its group's levels, so
 * slabs give the whole view's values.
 */
export class RowMapper {
  private readonly simd: SimdProx | null;
  private views: ViewArrays | null = null;

  constructor(
    simd: SimdProx | null,
    private readonly at: ViewAddresses | null,
    private readonly arrays: () => ViewArrays,
    private readonly shape: readonly [number, number, number],
    private readonly k: number,
    private readonly mode: number,
    private readonly param: number,
  ) {
    this.simd = simd && at && k <= 4 && mode !== PROX_MODES.soft ? simd : null;
  }

  private get values(): ViewArrays {
    return (this.views ??= this.arrays());
  }

  /** Maps the whole view: channel lanes in one call, contiguous groups a call each. */
  all(): void {
    const { simd, k, mode, param, shape } = this;
    const [A, M, C] = shape;
    if (!simd) {
      const { x, out, levels } = this.values;
      proxLoop(x, levels, shape, k, mode, param, out);
    } else if (C > 1) {
      const at = this.at as ViewAddresses;
      simd.lanes(mode, at.x, at.out, shape, at.levels, k, param);
    } else for (let a = 0; a < A; a++) this.rows(a, 0, M);
  }

  /** Maps block `a`'s rows [m0, m1). */
  rows(a: number, m0: number, m1: number): void {
    const [, M, C] = this.shape;
    const { k, mode, param } = this;
    const off = (a * M + m0) * C;
    const n = (m1 - m0) * C;
    const simd = this.simd;
    if (simd) {
      const at = this.at as ViewAddresses;
      if (C === 1) {
        const g = tablesFor(k);
        g.load(this.values.levels, a * k, 1, mode !== PROX_MODES.parq);
        simd.run(mode, at.x + off * 4, at.out + off * 4, n, g, param);
      } else {
        const levels = at.levels + a * k * C * 4;
        simd.lanes(mode, at.x + off * 4, at.out + off * 4, [1, m1 - m0, C], levels, k, param);
      }
      return;
    }
    const { x, out, levels } = this.values;
    proxLoop(
      x.subarray(off, off + n),
      levels.subarray(a * k * C, (a + 1) * k * C),
      [1, m1 - m0, C],
      k,
      mode,
      param,
      out.subarray(off, off + n),
    );
  }
}

function kernelFunc({ read, make, address }: HostArrays, simdFor: () => SimdProx | null) {
  return ({ inputs, attrs }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }) => {
    const { x, levels } = inputs as { x: tf.TensorInfo; levels: tf.TensorInfo };
    const { mode, param } = attrs as unknown as Attrs;
    const simd = simdFor();
    const shape = x.shape as [number, number, number];
    const k = levels.shape[1];
    const out = make(shape); // the only allocation: the views the mapper takes stay valid
    new RowMapper(
      simd,
      address ? { x: address(x), out: address(out.info), levels: address(levels) } : null,
      () => ({ x: read(x), out: out.values(), levels: read(levels) }),
      shape,
      k,
      mode,
      param,
    ).all();
    return out.info;
  };
}

/**
 * The SIMD maps of a wasm backend, looked up again only when the variant changes
 * (`simdKernelsSwitch.relaxed`, read at each call).
 */
export function simdOfBackend(backend: unknown): () => SimdProx | null {
  let variant: SimdProxVariant | null | undefined;
  let simd: SimdProx | null = null;
  return () => {
    const now = simdProxVariant();
    if (now !== variant) {
      variant = now;
      simd = simdProxFor((backend as { wasm: unknown }).wasm);
    }
    return simd;
  };
}

/** Register the fused kernel for cpu and wasm (no-op where registered). */
export function registerProxKernels(): void {
  registerHostKernel(PROX_KERNEL, (arrays, backendName, backend) =>
    kernelFunc(arrays, backendName === 'wasm' ? simdOfBackend(backend) : () => null),
  );
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
  if (tf.getKernel(PROX_KERNEL, tf.getBackend())) {
    const attrs = { mode: MODE_CODE[mode], param } as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(PROX_KERNEL, { x, levels: Q }, attrs) as tf.Tensor3D;
  }
  return composedProx(x, Q, mode, param);
}

// Registered once, when the module loads: a kernel is registered by backend name, before or
// after that backend is set up (webgpu registers its own in backend/webgpu.ts).
registerProxKernels();
