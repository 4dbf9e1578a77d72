/**
 * ADMM-Q on a convex quadratic with a lattice constraint, solved exactly: the
 * synthetic experiment of Huang et al. (2020), in plain TypeScript on
 * Float64Array (no tfjs).
 *
 *   minimize f(x) = ½ xᵀQx + bᵀx   subject to x ∈ h·ℤᴰ   (h = `spacing`, 8 in the paper)
 *
 * ADMM on L(x, z, λ) = f(x) + ⟨λ, x − z⟩ + (ρ/2)‖x − z‖², starting from
 * z⁰ = Proj(x⁰), λ⁰ = 0, iterates
 *
 *   x ← (Q + ρI)⁻¹ (ρz − b − λ)           exact x-update
 *   v ← x + λ/ρ,  p ← Proj(v) = h·round(v/h)
 *   z ← p                                   ADMM-Q (hard)
 *   z ← v + min(1, (β/ρ)/‖p − v‖)(p − v)    ADMM-S (soft; norm over the vector or per element)
 *   zᵢ ← pᵢ with probability `p`, else zᵢ   ADMM-R (random, seeded; or else vᵢ with skip 'unprojected')
 *   λ ← λ + ρ(x − z)
 *
 * and the baseline projected gradient descent x ← Proj(x − η∇f(x)). A run is
 * scored by the best f(Proj(x)) over its last `tail` iterates.
 */
import { mulberry32, type Rng } from '../util/random.js';
import type { RandomSkip } from '../optim/admm/projection.js';
import {
  choleskyFactor,
  choleskySolve,
  inverseSPD,
  matVec,
  symmetricEigenvalues,
} from './linalg.js';

/** f(x) = ½ xᵀQx + bᵀx with Q symmetric positive definite (row-major `n x n`). */
export interface QuadraticProblem {
  readonly n: number;
  readonly Q: Float64Array;
  readonly b: Float64Array;
}

/** How z follows its projection. */
export type QuadraticVariant =
  | { kind: 'hard' }
  | { kind: 'soft'; beta: number; norm?: 'tensor' | 'element' }
  | { kind: 'random'; p: number; skip?: RandomSkip };

export interface RunOptions {
  /** Iterations. Default 30,000 (the paper's). */
  iterations?: number;
  /** Score a run by the best rounded iterate among its last `tail`. Default 50. */
  tail?: number;
  /** Lattice spacing h (constraint x ∈ h·ℤᴰ). Default 8. */
  spacing?: number;
  /** Seed of ADMM-R's generator. Default 0. */
  seed?: number;
  /**
   * When a run may stop before `iterations` (same score either way): `'exact'` only
   * when (x, z, λ) repeat bit for bit; `'converged'` (default) also once every
   * change stays below 1e-12 of the iterate's size for 50 iterations while no v_i
   * or x_i lies within 1e-4·h of a rounding boundary.
   */
  stop?: 'exact' | 'converged';
}

/** One run's outcome. */
export interface RunResult {
  /** Best f(Proj(x)) over the last `tail` iterates; Infinity when the run diverged. */
  best: number;
  /** The rounded iterate that scored `best`. */
  bestX: Float64Array;
  /** Iterations computed: fewer than asked at a fixed point or a divergence. */
  iterations: number;
  /** The iterates overflowed (to ±Infinity or NaN); `best` is then Infinity. */
  diverged: boolean;
}

export function checkProblem(p: QuadraticProblem): void {
  if (!Number.isInteger(p.n) || p.n < 1)
    throw new Error(`quadratic problem: n must be a positive integer, got ${p.n}`);
  if (p.Q.length !== p.n * p.n)
    throw new Error(`quadratic problem: Q needs ${p.n * p.n} entries, got ${p.Q.length}`);
  if (p.b.length !== p.n)
    throw new Error(`quadratic problem: b needs ${p.n} entries, got ${p.b.length}`);
}

export function checkVariant(v: QuadraticVariant): void {
  if (v.kind === 'soft') {
    if (!(v.beta >= 0)) throw new Error(`ADMM-S: beta must be >= 0, got ${v.beta}`);
    if (v.norm !== undefined && v.norm !== 'tensor' && v.norm !== 'element') {
      throw new Error(`ADMM-S: norm must be 'tensor' or 'element', got '${v.norm}'`);
    }
  } else if (v.kind === 'random') {
    if (!(v.p >= 0 && v.p <= 1)) throw new Error(`ADMM-R: p must be in [0, 1], got ${v.p}`);
    if (v.skip !== undefined && v.skip !== 'keep' && v.skip !== 'unprojected') {
      throw new Error(`ADMM-R: skip must be 'keep' or 'unprojected', got '${v.skip}'`);
    }
  } else if (v.kind !== 'hard') {
    throw new Error(`unknown ADMM variant '${(v as { kind: string }).kind}' (hard, soft, random)`);
  }
}

function runOptions(o: RunOptions): Required<RunOptions> {
  const r = {
    iterations: o.iterations ?? 30_000,
    tail: o.tail ?? 50,
    spacing: o.spacing ?? 8,
    seed: o.seed ?? 0,
    stop: o.stop ?? 'converged',
  };
  if (r.stop !== 'exact' && r.stop !== 'converged') {
    throw new Error(`stop must be 'exact' or 'converged', got '${r.stop}'`);
  }
  if (!Number.isInteger(r.iterations) || r.iterations < 1)
    throw new Error(`iterations must be an integer >= 1, got ${r.iterations}`);
  if (!Number.isInteger(r.tail) || r.tail < 1)
    throw new Error(`tail must be an integer >= 1, got ${r.tail}`);
  if (!(r.spacing > 0)) throw new Error(`lattice spacing must be > 0, got ${r.spacing}`);
  return r;
}

/** f(x). */
export function quadraticObjective(p: QuadraticProblem, x: ArrayLike<number>): number {
  const { n, Q, b } = p;
  let f = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += Q[row + j] * x[j];
    f += x[i] * (0.5 * s + b[i]);
  }
  return f;
}

/** ∇f(x) = Qx + b. */
export function quadraticGradient(
  p: QuadraticProblem,
  x: ArrayLike<number>,
  out: Float64Array = new Float64Array(p.n),
): Float64Array {
  matVec(p.Q, p.n, x, out);
  for (let i = 0; i < p.n; i++) out[i] += p.b[i];
  return out;
}

/** The unconstrained minimizer −Q⁻¹b. */
export function continuousMinimizer(p: QuadraticProblem): Float64Array {
  checkProblem(p);
  const x = choleskySolve(choleskyFactor(p.Q, p.n), p.n, p.b);
  for (let i = 0; i < p.n; i++) x[i] = -x[i];
  return x;
}

/** L: the largest eigenvalue of Q. */
export function largestEigenvalue(Q: Float64Array, n: number): number {
  const eig = symmetricEigenvalues(Q, n);
  return eig[n - 1];
}

/** Projection onto h·ℤᴰ: h·round(x/h) (halves round up, as Math.round). */
export function latticeRound(
  x: ArrayLike<number>,
  spacing = 8,
  out: Float64Array = new Float64Array(x.length),
): Float64Array {
  for (let i = 0; i < x.length; i++) out[i] = Math.round(x[i] / spacing) * spacing + 0; // + 0: no -0
  return out;
}

/** A standard normal draw (Box–Muller on two uniforms). */
export function gaussian(rng: Rng): number {
  let u = rng();
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export interface RandomQuadraticOptions {
  seed: number;
  /** Dimension D. Default 16. */
  dim?: number;
  /** Weight v of the rank-one term. Default 10. */
  v?: number;
  /** Scale of b. Default 20. */
  bScale?: number;
}

/** The paper's instance: Q = AᵀA + v·ggᵀ, A (D×D) and g standard normal, b = bScale·N(0, I). */
export function randomQuadratic(o: RandomQuadraticOptions): QuadraticProblem {
  const n = o.dim ?? 16;
  const v = o.v ?? 10;
  const bScale = o.bScale ?? 20;
  const rng = mulberry32(o.seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) a[i] = gaussian(rng);
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = gaussian(rng);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) b[i] = bScale * gaussian(rng);
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = v * g[i] * g[j];
      for (let k = 0; k < n; k++) s += a[k * n + i] * a[k * n + j];
      Q[i * n + j] = s;
      Q[j * n + i] = s;
    }
  }
  return { n, Q, b };
}

/** Tracks the best f(Proj(x)) over the last iterates. */
class TailScore {
  best = Infinity;
  bestX: Float64Array;
  private readonly r: Float64Array;
  constructor(
    private readonly p: QuadraticProblem,
    private readonly spacing: number,
  ) {
    this.bestX = new Float64Array(p.n);
    this.r = new Float64Array(p.n);
  }
  add(x: Float64Array): void {
    latticeRound(x, this.spacing, this.r);
    const f = quadraticObjective(this.p, this.r);
    if (f < this.best) {
      this.best = f;
      this.bestX.set(this.r);
    }
  }
}

/**
 * ADMM with the exact x-update for one ρ: `(Q + ρI)⁻¹` is computed once (by
 * Cholesky) and reused for every run and variant.
 */
export class QuadraticADMM {
  readonly n: number;
  /** (Q + ρI)⁻¹, row-major. */
  readonly inverse: Float64Array;

  constructor(
    readonly problem: QuadraticProblem,
    readonly rho: number,
  ) {
    checkProblem(problem);
    if (!(rho > 0) || !Number.isFinite(rho))
      throw new Error(`rho must be a finite number > 0, got ${rho}`);
    const n = problem.n;
    this.n = n;
    const shifted = Float64Array.from(problem.Q);
    for (let i = 0; i < n; i++) shifted[i * n + i] += rho;
    this.inverse = inverseSPD(shifted, n);
  }

  /** The exact x-update: x = (Q + ρI)⁻¹ (ρz − b − λ). */
  xUpdate(
    z: ArrayLike<number>,
    lambda: ArrayLike<number>,
    out: Float64Array = new Float64Array(this.n),
  ): Float64Array {
    const rhs = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) rhs[i] = this.rho * z[i] - this.problem.b[i] - lambda[i];
    return matVec(this.inverse, this.n, rhs, out);
  }

  /**
   * One run from `x0`: z⁰ = Proj(x⁰), λ⁰ = 0, then `iterations` of (x, z, λ)
   * updates. Stops early, with the same score, once (x, z, λ) repeat exactly and
   * no projection could change z, and at a divergence (score Infinity).
   */
  run(x0: ArrayLike<number>, variant: QuadraticVariant, options: RunOptions = {}): RunResult {
    checkVariant(variant);
    const { iterations, tail, spacing, seed, stop } = runOptions(options);
    const n = this.n;
    if (x0.length !== n) throw new Error(`x0 needs ${n} entries, got ${x0.length}`);
    const x = Float64Array.from(x0);
    const z = latticeRound(x, spacing);
    const lam = new Float64Array(n);
    const rhs = new Float64Array(n);
    for (let i = 0; i < n; i++) rhs[i] = this.rho * z[i] - this.problem.b[i];
    const state: KernelState = {
      x,
      z,
      lam,
      rhs,
      xNew: new Float64Array(n),
      v: new Float64Array(n),
      pr: new Float64Array(n),
      rng: mulberry32(seed),
      fixed: false,
      diverged: false,
      settle: stop === 'converged',
      quiet: 0,
      scaleX: 0,
      scaleL: 0,
    };
    let kind = 0;
    if (variant.kind === 'soft') kind = variant.norm === 'element' ? 2 : 1;
    else if (variant.kind === 'random') kind = variant.skip === 'unprojected' ? 4 : 3;
    const radius = variant.kind === 'soft' ? variant.beta / this.rho : 0;
    const prob = variant.kind === 'random' ? variant.p : 1;
    const steps = (count: number) =>
      admmKernel(
        this.inverse,
        this.problem.b,
        n,
        this.rho,
        spacing,
        kind,
        radius,
        prob,
        state,
        count,
      );
    const score = new TailScore(this.problem, spacing);
    let t = steps(Math.max(0, iterations - tail));
    while (!state.fixed && !state.diverged && t < iterations) {
      t += steps(1);
      if (!state.diverged) score.add(x);
    }
    // At a fixed point every later iterate is this one.
    if (state.fixed) score.add(x);
    if (state.diverged) return { best: Infinity, bestX: x, iterations: t, diverged: true };
    return { best: score.best, bestX: score.bestX, iterations: t, diverged: false };
  }
}

/** The iterate and scratch of one ADMM run. */
interface KernelState {
  x: Float64Array;
  z: Float64Array;
  lam: Float64Array;
  /** ρz − b − λ for the next x-update. */
  rhs: Float64Array;
  xNew: Float64Array;
  v: Float64Array;
  pr: Float64Array;
  rng: Rng;
  /** Set when (x, z, λ) repeated exactly and no projection could change z. */
  fixed: boolean;
  /** Set when x overflowed. */
  diverged: boolean;
  /** Stop at numerical convergence too (not only at exact repeats). */
  settle: boolean;
  /** Consecutive iterations with changes at rounding-noise level. */
  quiet: number;
  /** 1 + the largest |x_i|, |z_i| and 1 + the largest |λ_i|, refreshed every 64 iterations. */
  scaleX: number;
  scaleL: number;
}

/**
 * `count` ADMM iterations on plain numbers and typed arrays (one monomorphic
 * function, so V8 compiles it tightly). `kind`: 0 hard, 1 soft (vector norm),
 * 2 soft (per element), 3 random keeping skipped zᵢ, 4 random taking vᵢ.
 * Returns the iterations done: fewer when a fixed point is reached (`s.fixed`)
 * or x overflows (`s.diverged`).
 */
function admmKernel(
  M: Float64Array,
  b: Float64Array,
  n: number,
  rho: number,
  h: number,
  kind: number,
  radius: number,
  prob: number,
  s: KernelState,
  count: number,
): number {
  const { x, z, lam, rhs, xNew, v, pr, rng } = s;
  const invRho = 1 / rho;
  const invH = 1 / h;
  for (let t = 0; t < count; t++) {
    matVec(M, n, rhs, xNew);
    let dxz = 0; // largest change of an x_i or z_i in this iteration
    let dl = 0; // largest change of a λ_i
    let settled = true; // every z_i already equals its projection (ADMM-R's exit test)
    if (kind === 1) {
      // ADMM-S over the whole vector: the step length needs ‖p − v‖ first.
      let d2 = 0;
      for (let i = 0; i < n; i++) {
        const xi = xNew[i];
        const d = Math.abs(xi - x[i]);
        if (d > dxz) dxz = d;
        x[i] = xi;
        const vi = xi + lam[i] * invRho;
        const pi = Math.round(vi * invH) * h;
        v[i] = vi;
        pr[i] = pi;
        d2 += (pi - vi) * (pi - vi);
      }
      const d = Math.sqrt(d2);
      const scale = d <= radius ? 1 : radius / d;
      for (let i = 0; i < n; i++) {
        const zi = scale === 1 ? pr[i] : v[i] + scale * (pr[i] - v[i]);
        const dz = Math.abs(zi - z[i]);
        if (dz > dxz) dxz = dz;
        z[i] = zi;
        const li = lam[i] + rho * (x[i] - zi);
        const dli = Math.abs(li - lam[i]);
        if (dli > dl) dl = dli;
        lam[i] = li;
        rhs[i] = rho * zi - b[i] - li;
      }
    } else {
      // One fused pass: x, v, Proj(v), z, λ and the next right-hand side.
      for (let i = 0; i < n; i++) {
        const xi = xNew[i];
        const dx = Math.abs(xi - x[i]);
        if (dx > dxz) dxz = dx;
        x[i] = xi;
        const vi = xi + lam[i] * invRho;
        v[i] = vi;
        const pi = Math.round(vi * invH) * h;
        let zi = z[i];
        if (kind === 0) {
          zi = pi;
        } else if (kind === 2) {
          const di = pi - vi;
          zi = Math.abs(di) <= radius ? pi : vi + (di > 0 ? radius : -radius);
        } else if (pi !== zi || (kind === 4 && vi !== zi)) {
          // ADMM-R. Draw only where the draw matters: same law, fewer draws.
          settled = false;
          const other = kind === 3 ? zi : vi;
          zi = pi === other || rng() < prob ? pi : other;
        }
        const dz = Math.abs(zi - z[i]);
        if (dz > dxz) dxz = dz;
        z[i] = zi;
        const li = lam[i] + rho * (xi - zi);
        const dli = Math.abs(li - lam[i]);
        if (dli > dl) dl = dli;
        lam[i] = li;
        rhs[i] = rho * zi - b[i] - li;
      }
    }
    const still = kind < 3 || settled; // no draw could change z
    // An exact repeat of (x, z, λ) repeats forever.
    if (dxz === 0 && dl === 0 && still) {
      s.fixed = true;
      return t + 1;
    }
    // Numerically converged: changes at rounding-noise level for a while, and no v_i or x_i
    // near a rounding boundary, so the rest of the run cannot change z or the score.
    if (s.settle && still && dxz <= SETTLE_TOL * s.scaleX && dl <= SETTLE_TOL * s.scaleL) {
      if (++s.quiet >= SETTLE_ITERATIONS && clearOfBoundaries(x, v, n, invH)) {
        s.fixed = true;
        return t + 1;
      }
    } else {
      s.quiet = 0;
    }
    if ((t & 63) === 0) {
      let sx = 0;
      let sl = 0;
      for (let i = 0; i < n; i++) {
        sx = Math.max(sx, Math.abs(x[i]), Math.abs(z[i]));
        sl = Math.max(sl, Math.abs(lam[i]));
      }
      if (!Number.isFinite(sx) || !Number.isFinite(sl) || sx !== sx || sl !== sl) {
        s.diverged = true;
        return t + 1;
      }
      s.scaleX = 1 + sx;
      s.scaleL = 1 + sl;
    }
  }
  return count;
}

/** Relative change per iteration below which a run counts as numerically converged. */
const SETTLE_TOL = 1e-12;
/** Consecutive quiet iterations needed. */
const SETTLE_ITERATIONS = 50;

/** True when every v_i/h and x_i/h is at least 1e-4 away from a rounding boundary (k + ½). */
function clearOfBoundaries(x: Float64Array, v: Float64Array, n: number, invH: number): boolean {
  for (let i = 0; i < n; i++) {
    for (const u of [v[i] * invH, x[i] * invH]) {
      if (Math.abs(u - Math.floor(u) - 0.5) < 1e-4) return false;
    }
  }
  return true;
}

/** Projected gradient descent x ← Proj(x − η(Qx + b)) from x0, scored like ADMM. */
export function runPGD(
  problem: QuadraticProblem,
  x0: ArrayLike<number>,
  step: number,
  options: RunOptions = {},
): RunResult {
  checkProblem(problem);
  if (!(step > 0)) throw new Error(`PGD: step must be > 0, got ${step}`);
  const { iterations, tail, spacing } = runOptions(options);
  const { n, Q, b } = problem;
  if (x0.length !== n) throw new Error(`x0 needs ${n} entries, got ${x0.length}`);
  const x = Float64Array.from(x0);
  const next = new Float64Array(n);
  const grad = new Float64Array(n);
  const score = new TailScore(problem, spacing);
  const tailStart = iterations - tail;
  const invH = 1 / spacing;
  let t = 0;
  for (; t < iterations; t++) {
    matVec(Q, n, x, grad);
    let changed = false;
    for (let i = 0; i < n; i++) {
      next[i] = Math.round((x[i] - step * (grad[i] + b[i])) * invH) * spacing;
      if (next[i] !== x[i]) changed = true;
    }
    x.set(next);
    if ((t & 63) === 0 && !Number.isFinite(x.reduce((a, v) => a + v, 0))) {
      return { best: Infinity, bestX: x, iterations: t + 1, diverged: true };
    }
    if (t >= tailStart) score.add(x);
    if (!changed) {
      score.add(x);
      t++;
      break;
    }
  }
  return { best: score.best, bestX: score.bestX, iterations: t, diverged: false };
}

/** The exact minimum over the lattice, or why it was not found. */
export interface LatticeMinimum {
  /** min f over h·ℤᴰ, or null when the search stopped at its node budget. */
  value: number | null;
  x: Float64Array | null;
  /** Search-tree nodes visited. */
  nodes: number;
}

/**
 * The exact minimum of f over h·ℤᴰ by Schnorr–Euchner enumeration (sphere
 * decoding) of f(x) − f(x*) = ½(x − x*)ᵀQ(x − x*) around the continuous
 * minimizer x*. `upperBound` (any f value known to be reachable, e.g. the best
 * heuristic result) prunes the tree from the start; the search gives up after
 * `maxNodes` nodes. A reference for the experiment, not part of ADMM.
 */
export function latticeMinimum(
  problem: QuadraticProblem,
  options: { spacing?: number; upperBound?: number; maxNodes?: number } = {},
): LatticeMinimum {
  checkProblem(problem);
  const { n, Q } = problem;
  const h = options.spacing ?? 8;
  if (!(h > 0)) throw new Error(`lattice spacing must be > 0, got ${h}`);
  const maxNodes = options.maxNodes ?? 1e8;
  const xs = continuousMinimizer(problem);
  const fStar = quadraticObjective(problem, xs);
  // In k = x/h: (k − c)ᵀ G (k − c) with G = h²Q = RᵀR, R upper triangular.
  const c = Float64Array.from(xs, (v) => v / h);
  const g = Float64Array.from(Q, (v) => v * h * h);
  const l = choleskyFactor(g, n); // G = L Lᵀ, so R = Lᵀ: R[i][j] = L[j][i]
  const diag2 = new Float64Array(n);
  for (let i = 0; i < n; i++) diag2[i] = l[i * n + i] ** 2;
  // Start from the rounded minimizer's value unless a better bound is given.
  const rounded = latticeRound(xs, h);
  let bestF = quadraticObjective(problem, rounded);
  let bestX: Float64Array | null = rounded;
  if (options.upperBound !== undefined && options.upperBound < bestF) {
    bestF = options.upperBound;
    bestX = null;
  }
  let radius = 2 * (bestF - fStar) * (1 + 1e-12) + 1e-9; // in units of (k − c)ᵀG(k − c)
  const k = new Float64Array(n);
  let nodes = 0;
  let stopped = false;
  const search = (i: number, partial: number): void => {
    if (stopped) return;
    if (i < 0) {
      const x = Float64Array.from(k, (v) => v * h);
      const f = quadraticObjective(problem, x);
      if (f < bestF || bestX === null) {
        bestF = Math.min(f, bestF);
        bestX = x;
        radius = Math.min(radius, partial * (1 + 1e-12) + 1e-9);
      }
      return;
    }
    let shift = 0;
    for (let j = i + 1; j < n; j++) shift += l[j * n + i] * (k[j] - c[j]);
    const center = c[i] - shift / l[i * n + i];
    const k0 = Math.round(center);
    const dir = center >= k0 ? 1 : -1;
    for (let m = 0; ; m++) {
      // k0, k0 + dir, k0 − dir, k0 + 2dir, ...: increasing distance to center.
      const ki = k0 + (m % 2 === 1 ? dir : -dir) * Math.ceil(m / 2);
      const d = diag2[i] * (ki - center) ** 2;
      if (partial + d > radius) break;
      if (++nodes > maxNodes) {
        stopped = true;
        return;
      }
      k[i] = ki;
      search(i - 1, partial + d);
      if (stopped) return;
    }
  };
  search(n - 1, 0);
  if (stopped) return { value: null, x: null, nodes };
  return { value: bestX ? bestF : null, x: bestX, nodes };
}
