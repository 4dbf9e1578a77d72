/**
 * The ADMM penalty ρ over training steps: constant, piecewise constant
 * (phases), or geometric growth with a cap. Plain serializable objects, like
 * the learning-rate schedules.
 */

/**
 * ρ when none is given: ADMMQOptimizer's default (a constant), and the training config's
 * `rho`, where it starts the geometric growth to `rhoMax`.
 */
export const DEFAULT_RHO = 1e-4;

export type RhoSchedule =
  | { kind: 'constant'; rho: number }
  /** `values[i]` from step `boundaries[i - 1]` on (`values[0]` before `boundaries[0]`). */
  | { kind: 'phases'; values: number[]; boundaries: number[] }
  /** `min(max, rho · factor^floor(step / every))`. */
  | { kind: 'geometric'; rho: number; factor: number; every: number; max?: number };

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Throws a one-line error naming the problem. */
export function checkRho(s: number | RhoSchedule): void {
  if (typeof s === 'number') {
    if (!positive(s)) throw new Error(`rho must be a finite number > 0, got ${s}`);
    return;
  }
  if (s === null || typeof s !== 'object')
    throw new Error(`rho must be a number or a schedule, got ${s}`);
  switch (s.kind) {
    case 'constant':
      if (!positive(s.rho)) throw new Error(`rho must be a finite number > 0, got ${s.rho}`);
      return;
    case 'phases': {
      if (!Array.isArray(s.values) || s.values.length === 0) {
        throw new Error('rho phases: values must be a non-empty array');
      }
      const bad = s.values.find((v) => !positive(v));
      if (bad !== undefined)
        throw new Error(`rho phases: every value must be a finite number > 0, got ${bad}`);
      if (!Array.isArray(s.boundaries) || s.boundaries.length !== s.values.length - 1) {
        throw new Error(
          `rho phases: ${s.values.length} values need ${s.values.length - 1} boundaries, got ${
            Array.isArray(s.boundaries) ? s.boundaries.length : s.boundaries
          }`,
        );
      }
      s.boundaries.forEach((b, i) => {
        if (!Number.isInteger(b) || b < 1 || (i > 0 && b <= s.boundaries[i - 1])) {
          throw new Error(
            `rho phases: boundaries must be increasing integers >= 1, got [${s.boundaries}]`,
          );
        }
      });
      return;
    }
    case 'geometric':
      if (!positive(s.rho)) throw new Error(`rho must be a finite number > 0, got ${s.rho}`);
      if (!positive(s.factor))
        throw new Error(`rho geometric: factor must be > 0, got ${s.factor}`);
      if (!Number.isInteger(s.every) || s.every < 1) {
        throw new Error(`rho geometric: every must be an integer >= 1, got ${s.every}`);
      }
      if (s.max !== undefined && s.max !== null && !positive(s.max)) {
        throw new Error(`rho geometric: max must be a finite number > 0, got ${s.max}`);
      }
      return;
    default:
      throw new Error(
        `unknown rho schedule '${(s as { kind: unknown }).kind}' (constant, phases, geometric)`,
      );
  }
}

/** ρ at `step` (0-based optimizer steps). */
export function rhoAt(s: number | RhoSchedule, step: number): number {
  if (typeof s === 'number') return s;
  switch (s.kind) {
    case 'constant':
      return s.rho;
    case 'phases': {
      let i = 0;
      while (i < s.boundaries.length && step >= s.boundaries[i]) i++;
      return s.values[i];
    }
    case 'geometric': {
      const r = s.rho * s.factor ** Math.floor(step / s.every);
      return s.max === undefined || s.max === null ? r : Math.min(s.max, r);
    }
  }
}
