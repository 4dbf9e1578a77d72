/**
 * Greedy LSBQ in one kernel (`ParqLsbqGreedy`): the levels Q and the quantized view q of
 * `greedy` in lsbq.ts from `bits + 1` passes over the weights, where the composed ops take
 * about ten full-size kernels per bit (abs, mean, neg, step, mul, sub, mul, sub, add, ...).
 * A QAT step refreshes Q every few steps; composed, that refresh was the largest part of
 * QuantOptimizer's overhead on the MLP (3 ms of a 7 ms step on wasm).
 *
 * The kernel computes the same float32 values as the composed ops bit for bit, which needs
 * the mean's summation as the backend's own Mean kernel does it:
 *  - cpu (tfjs's kernel): every |r| divided by M and rounded, the quotients added in double
 *    in order, the sum rounded once;
 *  - wasm with parq-ts's exact reductions (src/backend/wasm/exact-reduction.ts, installed by
 *    selectBackend): the |r| added in double in the order of its sumRange (four interleaved
 *    sums), divided by M, rounded once.
 * Where the backend's Mean is anything else (the stock wasm kernel adds in float32; webgl,
 * webgpu, tensorflow) `greedyKernelMean` says so and lsbq.ts keeps the composed ops.
 * Per element, as the composed ops: `sign(r) = r < 0 ? -1 : 1`, `step = sign * v`,
 * `r -= step`, `q += step` (q from 0), each rounded to float32; the levels are every sum of
 * `±v_i` built as the composed concat does, sorted ascending.
 */
import * as tf from '@tensorflow/tfjs';
import { registerHostKernel, type HostArrays } from '../backend/host-arrays.js';
import { isReplacedWasmKernel } from '../backend/wasm/register.js';
import { addressOf, simdKernelsFor } from '../backend/wasm/simd/index.js';
import { heapF32, type BackendWasm } from '../backend/wasm/kernel-utils.js';

/**
 * Greedy LSBQ's passes on the SIMD module (wasm), to the JavaScript loops' bits: the sums of
 * the first two bits in their order (mode 1: |x|, 2: | |x| - v |) and 2-bit q; addresses are
 * byte offsets in the heap.
 */
export interface SimdLsbq {
  /** sumRange's order over `n` contiguous values (sum4). */
  range(address: number, n: number, mode: 1 | 2, v: number): number;
  /** Per channel of a `[M, C]` block, each in row order, into `acc`; v[c] = sv[2c] (colsum4). */
  columns(
    address: number,
    M: number,
    C: number,
    mode: 1 | 2,
    sv: Float64Array,
    acc: Float64Array,
  ): void;
  /** 2-bit q of `n` contiguous values into `out`: T[j], j = #{-v0, 0, v0 above x} (lsbq_q2). */
  twoBit(address: number, out: number, n: number, v0: number, T: Float64Array): void;
}

export const LSBQ_GREEDY_KERNEL = 'ParqLsbqGreedy';

/** How a backend's Mean adds: 'divide-first' (cpu), 'sum-first' (wasm exact), or none. */
export type MeanOrder = 'divide-first' | 'sum-first';

const MEAN_CODE: Record<MeanOrder, number> = { 'divide-first': 0, 'sum-first': 1 };
const f32 = Math.fround;

/**
 * Greedy LSBQ of a view `x: [A, M, C]` (groups: every (a, c), M weights each) into `q`
 * (the view's shape) and `levels: [A, 2^bits, C]` (ascending along the middle axis).
 *
 * `sign(r) * v` is a table look-up, `sv[2 * g + (r < 0)]` with `sv = [v, -v]` per group g:
 * no branch to mispredict on weights of random sign, and -1 * 0 = -0 as the ops give it.
 * A NaN weight takes +v here and NaN there, which cannot show: the group's mean |r| that
 * the step uses is NaN then, and so is every value computed from it.
 */
export function greedyLoop(
  x: Float32Array,
  [A, M, C]: readonly [number, number, number],
  bits: number,
  order: MeanOrder,
  q: Float32Array | null,
  levels: Float32Array,
  simd: SimdLsbq | null = null,
): void {
  const k = 2 ** bits;
  const divideFirst = order === 'divide-first';
  const sv = new Float64Array(2 * bits * C); // [v, -v] of bit t, channel c at 2 * (t * C + c)
  const acc = new Float64Array(C);
  const lv = new Float64Array(k);
  for (let a = 0; a < A; a++) {
    const base = a * M * C;
    for (let b = 0; b < bits; b++) {
      if (simd !== null && !divideFirst && b < 2) {
        const at = x.byteOffset + 4 * base;
        if (C === 1) acc[0] = simd.range(at, M, b === 0 ? 1 : 2, sv[0]);
        else simd.columns(at, M, C, b === 0 ? 1 : 2, sv, acc);
      } else if (C === 1) acc[0] = sumAbsContiguous(x, base, M, b, sv, divideFirst);
      else sumAbsChannels(x, base, M, C, b, sv, divideFirst, acc);
      for (let c = 0; c < C; c++) {
        const v = divideFirst ? f32(acc[c]) : f32(acc[c] / M);
        sv[2 * (b * C + c)] = v;
        sv[2 * (b * C + c) + 1] = -v;
      }
    }
    // q (skipped where only the levels are asked for)
    if (q !== null && C === 1 && bits === 2 && simd !== null) {
      const T = twoBitTable(sv);
      simd.twoBit(x.byteOffset + 4 * base, q.byteOffset + 4 * base, M, sv[0], T);
    } else if (q !== null && C === 1 && bits === 2) quantizeTwoBit(x, base, M, sv, q);
    else if (q !== null) quantizeChain(x, base, M, C, bits, sv, q);
    // levels: [l - v, l + v] for every level l so far, bit by bit, then sorted
    for (let c = 0; c < C; c++) {
      lv[0] = 0;
      let n = 1;
      for (let t = 0; t < bits; t++) {
        const vt = sv[2 * (t * C + c)];
        for (let j = 0; j < n; j++) {
          const l = lv[j];
          lv[j] = f32(l - vt);
          lv[n + j] = f32(l + vt);
        }
        n *= 2;
      }
      const sorted = Float32Array.from(lv).sort();
      for (let j = 0; j < k; j++) levels[(a * k + j) * C + c] = sorted[j];
    }
  }
}

/** |r_b| of one weight x (r_0 = x, r_t+1 = r_t - sign(r_t) v_t). */
function absResidual(x: number, b: number, sv: Float64Array): number {
  let r = x;
  for (let t = 0; t < b; t++) r = f32(r - sv[2 * t + +(r < 0)]);
  return Math.abs(r);
}

/**
 * Sum of |r_b| over `x[base .. end)` in sumRange's order (exact-reduction.ts): four
 * interleaved double sums. Bits 0 and 1 spelled out: the residual loop costs more than the add.
 */
function sumAbsFourWay(x: Float32Array, base: number, end: number, b: number, sv: Float64Array) {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = base;
  const v0 = sv[0];
  if (b === 0) {
    for (; i + 4 <= end; i += 4) {
      s0 += Math.abs(x[i]);
      s1 += Math.abs(x[i + 1]);
      s2 += Math.abs(x[i + 2]);
      s3 += Math.abs(x[i + 3]);
    }
  } else if (b === 1) {
    // |x - sign(x) v| = ||x| - v|, rounded alike (rounding is symmetric): no sign to pick
    for (; i + 4 <= end; i += 4) {
      s0 += Math.abs(f32(Math.abs(x[i]) - v0));
      s1 += Math.abs(f32(Math.abs(x[i + 1]) - v0));
      s2 += Math.abs(f32(Math.abs(x[i + 2]) - v0));
      s3 += Math.abs(f32(Math.abs(x[i + 3]) - v0));
    }
  } else {
    for (; i + 4 <= end; i += 4) {
      s0 += absResidual(x[i], b, sv);
      s1 += absResidual(x[i + 1], b, sv);
      s2 += absResidual(x[i + 2], b, sv);
      s3 += absResidual(x[i + 3], b, sv);
    }
  }
  if (i < end) s0 += absResidual(x[i], b, sv);
  if (i + 1 < end) s1 += absResidual(x[i + 1], b, sv);
  if (i + 2 < end) s2 += absResidual(x[i + 2], b, sv);
  return s0 + s1 + (s2 + s3);
}

/** Sum of |r_b| over one contiguous group, as Mean adds (divide-first: in order, each / M). */
function sumAbsContiguous(
  x: Float32Array,
  base: number,
  M: number,
  b: number,
  sv: Float64Array,
  divideFirst: boolean,
): number {
  const end = base + M;
  if (!divideFirst) return sumAbsFourWay(x, base, end, b, sv);
  let s = 0;
  if (b === 0) {
    for (let i = base; i < end; i++) s += f32(Math.abs(x[i]) / M);
  } else if (b === 1) {
    for (let i = base; i < end; i++) {
      const r = x[i];
      s += f32(Math.abs(f32(r - sv[+(r < 0)])) / M);
    }
  } else {
    for (let i = base; i < end; i++) {
      let r = x[i];
      for (let t = 0; t < b; t++) r = f32(r - sv[2 * t + +(r < 0)]);
      s += f32(Math.abs(r) / M);
    }
  }
  return s;
}

/** Per-channel sums of |r_b| (channel c of row m at (base + m C + c)), each in row order. */
function sumAbsChannels(
  x: Float32Array,
  base: number,
  M: number,
  C: number,
  b: number,
  sv: Float64Array,
  divideFirst: boolean,
  acc: Float64Array,
): void {
  acc.fill(0);
  for (let m = 0; m < M; m++) {
    const row = base + m * C;
    for (let c = 0; c < C; c++) {
      let r = x[row + c];
      for (let t = 0; t < b; t++) r = f32(r - sv[2 * (t * C + c) + +(r < 0)]);
      acc[c] += divideFirst ? f32(Math.abs(r) / M) : Math.abs(r);
    }
  }
}

/**
 * q of 2 bits, one contiguous group: `q = s0 + s1` takes four values, picked by how many
 * of `-v0 <= 0 <= v0` lie above x (r_1 = x - s0 < 0 exactly when x < s0: a difference of
 * float32 values is zero only when they are equal, and rounding keeps its sign).
 */
function quantizeTwoBit(
  x: Float32Array,
  base: number,
  M: number,
  sv: Float64Array,
  q: Float32Array,
): void {
  const [v0, n0] = sv;
  const T = twoBitTable(sv);
  const end = base + M;
  for (let i = base; i < end; i++) {
    const r = x[i];
    q[i] = T[+(r < n0) + +(r < 0) + +(r < v0)];
  }
}

/**
 * The four values of 2-bit q by count 0..3: x >= v0; 0 <= x < v0; -v0 <= x < 0; x < -v0
 * (q from 0, as the ops add it).
 */
function twoBitTable(sv: Float64Array): Float64Array {
  const [v0, n0, v1, n1] = sv;
  return new Float64Array([
    f32(f32(0 + v0) + v1),
    f32(f32(0 + v0) + n1),
    f32(f32(0 + n0) + v1),
    f32(f32(0 + n0) + n1),
  ]);
}

/** q of any bits and channels: the signed steps summed in the order they were taken. */
function quantizeChain(
  x: Float32Array,
  base: number,
  M: number,
  C: number,
  bits: number,
  sv: Float64Array,
  q: Float32Array,
): void {
  for (let m = 0; m < M; m++) {
    const row = base + m * C;
    for (let c = 0; c < C; c++) {
      let r = x[row + c];
      let qq = 0;
      for (let t = 0; t < bits; t++) {
        const st = sv[2 * (t * C + c) + +(r < 0)];
        r = f32(r - st);
        qq = f32(qq + st);
      }
      q[row + c] = qq;
    }
  }
}

interface Attrs {
  bits: number;
  order: number;
  /** 1: outputs [q, Q]; 0: [Q] alone (q's pass skipped) */
  withQ: number;
}

/**
 * Greedy LSBQ's SIMD passes for a wasm backend's heap (looked up per call: the switch may turn the module
 * off), with a scratch buffer for `C` channels' values and sums; call `dispose` after. Make
 * it after the kernel's outputs and before taking views: the scratch may grow the heap.
 */
function simdLsbqOf(backend: BackendWasm, C: number): (SimdLsbq & { dispose(): void }) | null {
  const simd = simdKernelsFor(backend);
  if (!simd) return null;
  // C float64 sums, then C float32 values (malloc's 8-byte alignment holds for the sums)
  const scratch = C > 1 ? backend.makeOutput([3 * C], 'float32') : null;
  const at = scratch ? addressOf(backend, scratch) : 0;
  return {
    range: (address, n, mode, v) => simd.sum4(address, n, mode, v),
    columns: (address, M, C2, mode, sv, acc) => {
      const f = heapF32(backend, scratch as tf.TensorInfo); // the block's C2 is the kernel's C
      for (let c = 0; c < C2; c++) f[2 * C2 + c] = sv[2 * c];
      simd.colsum4(address, M, C2, mode, at + 8 * C2, at);
      acc.set(new Float64Array(f.buffer, f.byteOffset, C2));
    },
    twoBit: (address, out, n, v0, T) => simd.lsbq_q2(address, out, n, v0, T[0], T[1], T[2], T[3]),
    dispose: () => {
      if (scratch) backend.disposeData(scratch.dataId);
    },
  };
}

function kernelFunc({ read, make }: HostArrays, backend: BackendWasm | null) {
  return ({ inputs, attrs }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { bits, order, withQ } = attrs as unknown as Attrs;
    const [A, M, C] = x.shape as [number, number, number];
    const q = withQ ? make([A, M, C]) : null;
    const Q = make([A, 2 ** bits, C]);
    const sumFirst = order === MEAN_CODE['sum-first'];
    const simd = backend && sumFirst ? simdLsbqOf(backend, C) : null;
    try {
      // views after every allocation (wasm: an allocation may grow the heap)
      greedyLoop(
        read(x),
        [A, M, C],
        bits,
        sumFirst ? 'sum-first' : 'divide-first',
        q ? q.values() : null,
        Q.values(),
        simd,
      );
    } finally {
      simd?.dispose();
    }
    return q ? [q.info, Q.info] : [Q.info];
  };
}

/** Register the kernel for cpu and wasm (no-op where registered). */
export function registerLsbqKernels(): void {
  registerHostKernel(LSBQ_GREEDY_KERNEL, (arrays, backendName, backend) =>
    kernelFunc(arrays, backendName === 'wasm' ? (backend as BackendWasm) : null),
  );
}

/**
 * How the active backend's Mean adds, where the kernel can reproduce it (cpu with tfjs's
 * Mean; wasm with parq-ts's exact Mean), else null: then the composed ops run.
 */
export function greedyKernelMean(): MeanOrder | null {
  const backend = tf.getBackend();
  if (!tf.getKernel(LSBQ_GREEDY_KERNEL, backend)) return null;
  if (backend === 'cpu') return 'divide-first';
  if (backend === 'wasm' && isReplacedWasmKernel(tf.Mean)) return 'sum-first';
  return null;
}

/** Greedy LSBQ of a view on the kernel, with the mean order `greedyKernelMean` gave. */
export function greedyKernel(
  p: tf.Tensor3D,
  bits: number,
  order: MeanOrder,
): { q: tf.Tensor3D; Q: tf.Tensor3D } {
  const attrs = { bits, order: MEAN_CODE[order], withQ: 1 } as unknown as tf.NamedAttrMap;
  const [q, Q] = tf.engine().runKernel(LSBQ_GREEDY_KERNEL, { x: p }, attrs) as tf.Tensor3D[];
  return { q, Q };
}

/** The levels Q of `greedyKernel` alone: the kernel skips q's pass over the weights. */
export function greedyKernelLevels(p: tf.Tensor3D, bits: number, order: MeanOrder): tf.Tensor3D {
  const attrs = { bits, order: MEAN_CODE[order], withQ: 0 } as unknown as tf.NamedAttrMap;
  const [Q] = tf.engine().runKernel(LSBQ_GREEDY_KERNEL, { x: p }, attrs) as tf.Tensor3D[];
  return Q;
}

registerLsbqKernels();
