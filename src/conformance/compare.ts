/** The pass rule of shared/conformance/FORMAT.md. */

export interface TensorJson {
  shape: number[];
  data: number[];
}

/** Number of elements of `actual` that disagree with `expected` (|a - e| <= 1e-4 * scale + 1e-7). */
export function countDisagreeing(actual: ArrayLike<number>, expected: readonly number[]): number {
  if (actual.length !== expected.length) return Math.max(actual.length, expected.length);
  let scale = 1e-12;
  for (const e of expected) scale = Math.max(scale, Math.abs(e));
  const tol = 1e-4 * scale + 1e-7;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    if (!(Math.abs(a - expected[i]) <= tol)) bad++;
  }
  return bad;
}

/** A tensor passes when at most max(1, ceil(f * n)) elements disagree. */
export function tensorAgrees(
  actual: ArrayLike<number>,
  expected: readonly number[],
  f: number,
): boolean {
  const allowed = Math.max(1, Math.ceil(f * expected.length));
  return countDisagreeing(actual, expected) <= allowed;
}

/** Level sets are sorted along their last axis and must agree in every element. */
export function levelsAgree(actual: ArrayLike<number>, expected: TensorJson): boolean {
  const k = expected.shape[expected.shape.length - 1];
  const sortRows = (xs: ArrayLike<number>): number[] => {
    const out: number[] = [];
    for (let r = 0; r < xs.length / k; r++) {
      out.push(
        ...Array.from(xs)
          .slice(r * k, (r + 1) * k)
          .sort((a, b) => a - b),
      );
    }
    return out;
  };
  return countDisagreeing(sortRows(actual), sortRows(expected.data)) === 0;
}

/** Scalars agree when |a - e| <= 1e-5 * max(1, |e|). */
export function scalarAgrees(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-5 * Math.max(1, Math.abs(expected));
}
