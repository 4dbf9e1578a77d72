/**
 * Exact optimal LSBQ for 2 bits and ternary, per group of a view `[A, M, C]`.
 *
 * With magnitudes sorted ascending `a_1 <= ... <= a_M` and prefix sums `c_k`:
 * - 2 bits: levels `{±lo, ±hi}`; the `k` smallest magnitudes go to `lo` (their
 *   mean), the rest to `hi` (their mean). The squared error is
 *   `sum a^2 - c_k^2 / k - (T - c_k)^2 / (M - k)`, so the best split maximizes
 *   the last two terms; every `k` in 1..M-1 is tried.
 * - ternary: levels `{-v, 0, v}`; the `k` smallest go to 0, the rest to their
 *   mean `v`; the best `k` in 0..M-1 maximizes `(T - c_k)^2 / (M - k)`.
 * Each weight is then assigned its nearest level, which is the split itself at
 * the optimum. All of it is tfjs ops: one sort, one cumulative sum, one argmax.
 */
import * as tf from '@tensorflow/tfjs';
import {
  binarySign,
  isAbove,
  Quantized,
  scaledLevels,
  sortAxis1,
  ternaryAssign,
} from './quantizer.js';

/** Sorted magnitudes as rows `[G, M]` (G = A * C), their prefix sums, and the view's dims. */
function sortedRows(p: tf.Tensor3D): { a: tf.Tensor2D; c: tf.Tensor2D } {
  const [A, M, C] = p.shape;
  const sorted = sortAxis1(tf.abs(p) as tf.Tensor3D);
  const a = tf.reshape(tf.transpose(sorted, [0, 2, 1]), [A * C, M]) as tf.Tensor2D;
  return { a, c: tf.cumsum(a, 1) as tf.Tensor2D };
}

/** Per-group values `[G]` back to the `[A, 1, C]` layout. */
function toGroupShape(x: tf.Tensor, p: tf.Tensor3D): tf.Tensor {
  const [A, , C] = p.shape;
  return tf.reshape(x, [A, 1, C]);
}

/** Pick, per row, the column of `score` `[G, K]` with the largest value; gather from `vals`. */
function pickBest(score: tf.Tensor2D, ...vals: tf.Tensor2D[]): tf.Tensor[] {
  // a one-hot mask rather than gather with batchDims, which crashes the wasm backend
  const mask = tf.cast(tf.oneHot(tf.argMax(score, 1), score.shape[1]), 'float32');
  return vals.map((v) => tf.sum(tf.mul(v, mask), 1));
}

export function optimalTwoBit(p: tf.Tensor3D): Quantized {
  const M = p.shape[1];
  if (M === 1) {
    const v = tf.abs(p);
    return { q: tf.clone(p), Q: scaledLevels([-1, -1, 1, 1], v) };
  }
  const { c } = sortedRows(p);
  const total = tf.slice(c, [0, M - 1], [-1, 1]);
  const ks = tf.range(1, M, 1, 'float32'); // k = 1..M-1 elements in the low group
  const cLow = tf.slice(c, [0, 0], [-1, M - 1]);
  const cHigh = tf.sub(total, cLow);
  const lo = tf.div(cLow, ks) as tf.Tensor2D;
  const hi = tf.div(cHigh, tf.sub(M, ks)) as tf.Tensor2D;
  const score = tf.add(tf.mul(cLow, lo), tf.mul(cHigh, hi)) as tf.Tensor2D;
  const [loBest, hiBest] = pickBest(score, lo, hi).map((x) => toGroupShape(x, p));
  const big = isAbove(tf.abs(p), tf.mul(tf.add(loBest, hiBest), 0.5));
  const mag = tf.add(tf.mul(big, hiBest), tf.mul(tf.sub(1, big), loBest));
  const q = tf.mul(binarySign(p), mag) as tf.Tensor3D;
  const Q = tf.concat([tf.neg(hiBest), tf.neg(loBest), loBest, hiBest], 1) as tf.Tensor3D;
  return { q, Q };
}

export function optimalTernary(p: tf.Tensor3D): Quantized {
  const M = p.shape[1];
  const { c } = sortedRows(p);
  const total = tf.slice(c, [0, M - 1], [-1, 1]);
  // k = 0..M-1 smallest go to zero: prefix sums with a leading 0
  const cZero = tf.concat([tf.zerosLike(total), tf.slice(c, [0, 0], [-1, M - 1])], 1);
  const cHigh = tf.sub(total, cZero);
  const v = tf.div(cHigh, tf.range(M, 0, -1, 'float32')) as tf.Tensor2D;
  const score = tf.mul(cHigh, v) as tf.Tensor2D;
  const [vBest] = pickBest(score, v).map((x) => toGroupShape(x, p));
  return { q: ternaryAssign(p, vBest), Q: scaledLevels([-1, 0, 1], vBest) };
}

/**
 * The reference's per-tensor "optimal" ternary, reproduced for conformance: it
 * keeps candidates `v_i = mean(a_{i+1..M}) / 2` with `a_i <= v_i < a_{i+1}`
 * (and `v_0 = mean(a) / 2` when below `a_1`), then scores levels `{-v_i, 0, v_i}`
 * (half the optimal level) and keeps the best one that beats all-zero.
 * Errors come from prefix sums: with `m` magnitudes at most `v/2` set to 0,
 * `err = sum a^2 - 2 v (T - c_m) + v^2 (M - m)`.
 */
export function referenceTernary(p: tf.Tensor3D): Quantized {
  const M = p.shape[1];
  const { a, c } = sortedRows(p); // [1, M]
  const total = tf.slice(c, [0, M - 1], [-1, 1]);
  const sq = tf.sum(tf.square(a), 1, true);
  const cBefore = tf.concat([tf.zerosLike(total), tf.slice(c, [0, 0], [-1, M - 1])], 1);
  const cand = tf.div(tf.sub(total, cBefore), tf.mul(tf.range(M, 0, -1, 'float32'), 2)); // [1, M]
  const aPrev = tf.concat([tf.fill([1, 1], -Infinity), tf.slice(a, [0, 0], [-1, M - 1])], 1);
  const feasible = tf.logicalAnd(tf.greaterEqual(cand, aPrev), tf.less(cand, a));
  // m = how many magnitudes are <= v/2, per candidate
  const mInt = tf.reshape(tf.searchSorted(a, tf.mul(cand, 0.5), 'right'), [M]);
  const m = tf.cast(mInt, 'float32');
  const cm = tf.gather(tf.concat([tf.zeros([1]), tf.reshape(c, [M])]), mInt);
  const v = tf.reshape(cand, [M]);
  const err = tf.add(
    tf.sub(tf.reshape(sq, []), tf.mul(tf.mul(v, 2), tf.sub(tf.reshape(total, []), cm))),
    tf.mul(tf.square(v), tf.sub(M, m)),
  );
  const ok = tf.logicalAnd(tf.reshape(feasible, [M]), tf.less(err, tf.reshape(sq, [])));
  const score = tf.where(ok, tf.neg(err), tf.fill([M], -Infinity));
  const anyOk = tf.any(ok);
  const best = tf.where(anyOk, tf.gather(v, tf.argMax(score)), tf.scalar(0));
  const vBest = tf.reshape(best, [1, 1, 1]);
  return { q: ternaryAssign(p, vBest), Q: scaledLevels([-1, 0, 1], vBest) };
}
