/** Plain-array statistics of weight tensors: histograms and distinct values per group. */
import type { GroupView } from '../quant/grouping.js';
import type { Quantizer } from '../quant/quantizer.js';
import type { Histogram, QuantizedTensorInfo } from './metrics.js';

/** A quantized tensor as `quantizedTensorInfo` reads it (a resolved entry with its weight name). */
export interface QuantizedTensorRef {
  label: string;
  variable: { shape: readonly number[] };
  bits: number;
  view: GroupView;
  quantizer: Quantizer;
}

/**
 * What a quantized tensor holding `values` shows (levels aside): its shape, bits, groups, the
 * levels its quantizer allows at its bits, and its distinct values overall and per group.
 */
export function quantizedTensorInfo(
  entry: QuantizedTensorRef,
  values: ArrayLike<number>,
): QuantizedTensorInfo {
  return {
    name: entry.label,
    shape: [...entry.variable.shape],
    bits: entry.bits,
    groups: entry.view.numGroups,
    maxLevels: entry.quantizer.quantSize(entry.bits),
    distinct: distinctCount(values),
    maxDistinctPerGroup: maxDistinctPerGroup(values, entry.view),
  };
}

/** Histogram of `values` in `bins` equal bins over [lo, hi] (default: the values' range). */
export function histogram(
  values: ArrayLike<number>,
  bins = 60,
  lo?: number,
  hi?: number,
): Histogram {
  let min = Infinity;
  let max = -Infinity;
  if (lo === undefined || hi === undefined) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  let a = lo ?? min;
  let b = hi ?? max;
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    a = 0;
    b = 0;
  }
  if (b <= a) {
    const pad = Math.abs(a) > 0 ? Math.abs(a) * 1e-3 : 1e-3;
    a -= pad;
    b += pad;
  }
  const counts = new Array<number>(bins).fill(0);
  const scale = bins / (b - a);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= a && v <= b)) continue;
    counts[Math.min(bins - 1, Math.floor((v - a) * scale))]++;
  }
  return { lo: a, hi: b, counts };
}

/** The smallest and largest of several arrays together. */
export function range(...arrays: ArrayLike<number>[]): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const xs of arrays) {
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] < min) min = xs[i];
      if (xs[i] > max) max = xs[i];
    }
  }
  return [min, max];
}

/**
 * Number of distinct values, as a Set counts them (NaN once, -0 as 0). float32 arrays (the
 * weights) go through an open-addressing table of their bits: the MLP's 268,800 float weights
 * in ~8 ms, where a Set of them took ~110 ms (at each of the ~4-6 histogram snapshots of a run).
 */
export function distinctCount(values: ArrayLike<number>): number {
  if (values instanceof Float32Array) return distinctFloat32(values);
  return new Set(Array.from(values)).size;
}

const CANONICAL_NAN = 0x7fc00000;

function distinctFloat32(values: Float32Array): number {
  const n = values.length;
  if (n === 0) return 0;
  if (n > 2 ** 28) return new Set(values).size; // past a 2^29-slot table
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  let log = 1;
  while (2 ** log < 2 * n) log++; // at most half full
  const mask = 2 ** log - 1;
  const keys = new Uint32Array(mask + 1);
  const used = new Uint8Array(mask + 1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    let key = bits[i];
    if (key === 0x80000000) {
      key = 0; // -0 is 0
    } else if ((key & 0x7f800000) === 0x7f800000 && (key & 0x7fffff) !== 0) {
      key = CANONICAL_NAN; // every NaN is one value
    }
    let slot = Math.imul(key, 0x9e3779b1) >>> (32 - log);
    while (used[slot] === 1 && keys[slot] !== key) slot = (slot + 1) & mask;
    if (used[slot] === 0) {
      used[slot] = 1;
      keys[slot] = key;
      count++;
    }
  }
  return count;
}

/**
 * The most distinct values in any one group of a tensor grouped by `view` ([A, M, C] over the
 * row-major data: group (a, c) holds the elements a*M*C + m*C + c).
 */
export function maxDistinctPerGroup(values: ArrayLike<number>, view: GroupView): number {
  const [a, m, c] = view.view;
  let most = 0;
  for (let ai = 0; ai < a; ai++) {
    for (let ci = 0; ci < c; ci++) {
      const seen = new Set<number>();
      for (let mi = 0; mi < m; mi++) seen.add(values[ai * m * c + mi * c + ci]);
      if (seen.size > most) most = seen.size;
    }
  }
  return most;
}

/** Rows of a row-major [rows, k] matrix. */
export function toRows(values: ArrayLike<number>, rows: number): number[][] {
  const k = rows > 0 ? values.length / rows : 0;
  const all = Array.from(values);
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) out.push(all.slice(r * k, (r + 1) * k));
  return out;
}

/** Mean and population standard deviation. */
export function meanSd(xs: number[]): { mean: number; sd: number } {
  if (xs.length === 0) return { mean: NaN, sd: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, sd: Math.sqrt(v) };
}
