/** Annealing schedules over optimizer steps (plain numbers: no tensors, no sync). */

/**
 * Sigmoid-like curve falling from 1 at `t1` to 0 at `t2` (requires `t1 <= t < t2`).
 * `s` is the steepness (almost linear for `s < 1`), `c` the center as a fraction
 * of `[t1, t2)`. Normalized so the value is exactly 1 at `t1` and 0 at `t2`
 * when `c = 0.5`.
 */
export function normalizedMirrorSigmoid(
  t: number,
  t1: number,
  t2: number,
  s: number,
  c: number,
): number {
  if (!(t >= t1 && t < t2)) {
    throw new Error(`normalizedMirrorSigmoid needs t1 <= t < t2, got t=${t}, t1=${t1}, t2=${t2}`);
  }
  const ft = (t - t1) / (t2 - t1);
  const st = 1 / (1 + Math.exp(s * (ft - c)));
  const s1 = 1 / (1 + Math.exp(-0.5 * s));
  const s2 = 1 / (1 + Math.exp(0.5 * s));
  return (st - s2) / (s1 - s2);
}

/** Fraction of the way from `start` to `end`, for `start <= t < end`. */
export function annealFraction(t: number, start: number, end: number): number {
  return (t - start) / (end - start);
}

/** Checks shared by the annealed maps. */
export function checkAnneal(start: number, end: number, what: string): void {
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new Error(`${what}: annealStart and annealEnd must be finite numbers`);
  }
  if (!(end > start)) {
    throw new Error(`${what}: annealEnd (${end}) must be greater than annealStart (${start})`);
  }
}
