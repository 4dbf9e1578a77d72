import { describe, expect, it } from 'vitest';
import {
  choleskyFactor,
  choleskySolve,
  continuousMinimizer,
  gaussian,
  inverseSPD,
  largestEigenvalue,
  latticeMinimum,
  latticeRound,
  matVec,
  QuadraticADMM,
  quadraticGradient,
  quadraticObjective,
  randomQuadratic,
  runPGD,
  symmetricEigenvalues,
} from '../../src/sim/index.js';
import { mulberry32 } from '../../src/util/random.js';

const maxAbs = (a: ArrayLike<number>) =>
  Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const randomVector = (n: number, seed: number, scale = 1) => {
  const rng = mulberry32(seed);
  return Float64Array.from({ length: n }, () => scale * gaussian(rng));
};

describe('linear algebra', () => {
  it('matVec matches the plain double loop, for sizes with and without a multiple of 4', () => {
    for (const n of [1, 3, 4, 7, 16]) {
      const a = randomVector(n * n, n);
      const x = randomVector(n, 100 + n);
      const y = matVec(a, n, x);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * x[j];
        expect(y[i]).toBeCloseTo(s, 12);
      }
    }
  });

  it('Cholesky solves an SPD system and the inverse is one', () => {
    const { Q } = randomQuadratic({ seed: 3, dim: 6 });
    const b = randomVector(6, 4);
    const x = choleskySolve(choleskyFactor(Q, 6), 6, b);
    const r = matVec(Q, 6, x).map((v, i) => v - b[i]);
    expect(maxAbs(r)).toBeLessThan(1e-9 * maxAbs(b));
    const inv = inverseSPD(Q, 6);
    const prod = new Float64Array(36);
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 6; j++) {
        let s = 0;
        for (let k = 0; k < 6; k++) s += Q[i * 6 + k] * inv[k * 6 + j];
        prod[i * 6 + j] = s - (i === j ? 1 : 0);
      }
    }
    expect(maxAbs(prod)).toBeLessThan(1e-8);
  });

  it('rejects a matrix that is not positive definite, naming the problem', () => {
    expect(() => choleskyFactor(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(
      /not positive definite/,
    );
    expect(() => choleskyFactor(new Float64Array(3), 2)).toThrow(/needs 4 entries/);
  });

  it('Jacobi finds the eigenvalues of a matrix with known spectrum', () => {
    // Q = R diag(1, 2, 5, 10) Rᵀ for a rotation R in the (0,1) and (2,3) planes.
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const r = [c, -s, 0, 0, s, c, 0, 0, 0, 0, c, s, 0, 0, -s, c];
    const d = [1, 2, 5, 10];
    const q = new Float64Array(16);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += r[i * 4 + k] * d[k] * r[j * 4 + k];
        q[i * 4 + j] = v;
      }
    }
    const eig = symmetricEigenvalues(q, 4);
    Array.from(eig).forEach((e, i) => expect(e).toBeCloseTo(d[i], 12));
    expect(largestEigenvalue(q, 4)).toBeCloseTo(10, 12);
  });

  it('the largest eigenvalue agrees with power iteration on the paper instance', () => {
    const { Q, n } = randomQuadratic({ seed: 11 });
    let x = randomVector(n, 1);
    let lambda = 0;
    for (let t = 0; t < 5000; t++) {
      const y = matVec(Q, n, x);
      const norm = Math.hypot(...y);
      lambda = norm / Math.hypot(...x);
      x = y.map((v) => v / norm);
    }
    expect(largestEigenvalue(Q, n) / lambda).toBeCloseTo(1, 9);
  });
});

describe('quadratic problem', () => {
  const problem = randomQuadratic({ seed: 5 });

  it('builds a symmetric positive definite Q = AᵀA + v·ggᵀ, reproducibly', () => {
    const { n, Q } = problem;
    expect(n).toBe(16);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Q[i * n + j]).toBe(Q[j * n + i]);
    expect(symmetricEigenvalues(Q, n)[0]).toBeGreaterThan(0);
    expect(randomQuadratic({ seed: 5 }).b).toEqual(problem.b);
    expect(randomQuadratic({ seed: 6 }).b).not.toEqual(problem.b);
  });

  it('the continuous minimizer zeroes the gradient, and the objective matches ½xᵀQx + bᵀx', () => {
    const xs = continuousMinimizer(problem);
    expect(maxAbs(quadraticGradient(problem, xs))).toBeLessThan(1e-8);
    const x = randomVector(16, 9);
    const qx = matVec(problem.Q, 16, x);
    let f = 0;
    for (let i = 0; i < 16; i++) f += 0.5 * x[i] * qx[i] + problem.b[i] * x[i];
    expect(quadraticObjective(problem, x)).toBeCloseTo(f, 9);
  });

  it('the lattice projection is round(x/8)*8', () => {
    expect(Array.from(latticeRound([3.9, 4.1, -4.1, -12.5, 0]))).toEqual([0, 8, -8, -16, 0]);
    expect(Array.from(latticeRound([1.2, 1.3], 0.5))).toEqual([1, 1.5]);
  });

  it('the exact x-update solves (Q + ρI)x = ρz − b − λ', () => {
    for (const rho of [1e-4, 1, 300]) {
      const admm = new QuadraticADMM(problem, rho);
      const z = latticeRound(randomVector(16, 1, 10));
      const lambda = randomVector(16, 2, 5);
      const x = admm.xUpdate(z, lambda);
      const lhs = matVec(problem.Q, 16, x).map((v, i) => v + rho * x[i]);
      const rhs = z.map((zi, i) => rho * zi - problem.b[i] - lambda[i]);
      expect(maxAbs(lhs.map((v, i) => v - rhs[i]))).toBeLessThan(1e-8 * (1 + maxAbs(rhs)));
    }
  });

  it('soft with β/ρ beyond every distance, and random with p = 1, are exactly hard ADMM-Q', () => {
    const admm = new QuadraticADMM(problem, 0.01 * largestEigenvalue(problem.Q, 16));
    const x0 = randomVector(16, 21, 10);
    const opts = { iterations: 2000 };
    const hard = admm.run(x0, { kind: 'hard' }, opts);
    const soft = admm.run(x0, { kind: 'soft', beta: 1e12 }, opts);
    const softElement = admm.run(x0, { kind: 'soft', beta: 1e12, norm: 'element' }, opts);
    const random = admm.run(x0, { kind: 'random', p: 1 }, opts);
    expect(soft.best).toBe(hard.best);
    expect(softElement.best).toBe(hard.best);
    expect(random.best).toBe(hard.best);
    expect(Array.from(random.bestX)).toEqual(Array.from(hard.bestX));
    expect(hard.diverged).toBe(false);
  });

  it('stopping at numerical convergence changes no score, and saves iterations', () => {
    const L = largestEigenvalue(problem.Q, 16);
    let saved = 0;
    for (const r of [1e-3, 1e-1, 10]) {
      const admm = new QuadraticADMM(problem, r * L);
      for (const variant of [
        { kind: 'hard' } as const,
        { kind: 'soft', beta: 10 } as const,
        { kind: 'random', p: 0.7 } as const,
      ]) {
        for (const s of [0, 1]) {
          const x0 = randomVector(16, 50 + s, 10);
          const exact = admm.run(x0, variant, { iterations: 4000, seed: s, stop: 'exact' });
          const settled = admm.run(x0, variant, { iterations: 4000, seed: s });
          expect(settled.best).toBe(exact.best);
          expect(Array.from(settled.bestX)).toEqual(Array.from(exact.bestX));
          saved += exact.iterations - settled.iterations;
        }
      }
    }
    expect(saved).toBeGreaterThan(0);
  });

  it('random runs repeat with the same seed and differ with another', () => {
    const admm = new QuadraticADMM(problem, 0.01 * largestEigenvalue(problem.Q, 16));
    const x0 = randomVector(16, 22, 10);
    const run = (seed: number) =>
      admm.run(x0, { kind: 'random', p: 0.3 }, { iterations: 300, tail: 300, seed });
    expect(run(4)).toEqual(run(4));
    const a = run(4);
    const others = [5, 6, 7].map((s) => run(s).bestX.join());
    expect(others.some((o) => o !== a.bestX.join())).toBe(true);
  });

  it('ADMM-Q beats rounding the continuous optimum on the paper instance, and the exact optimum bounds both', () => {
    const L = largestEigenvalue(problem.Q, 16);
    const admm = new QuadraticADMM(problem, 0.01 * L);
    const scores = [0, 1, 2, 3, 4].map(
      (s) => admm.run(randomVector(16, 30 + s, 10), { kind: 'hard' }, { iterations: 3000 }).best,
    );
    const rounded = quadraticObjective(problem, latticeRound(continuousMinimizer(problem)));
    const exact = latticeMinimum(problem);
    expect(exact.value).not.toBeNull();
    expect(Math.min(...scores)).toBeLessThan(rounded);
    expect(exact.value as number).toBeLessThanOrEqual(Math.min(...scores, rounded));
  });

  it('the lattice minimum equals brute force on a small instance where rounding is not optimal', () => {
    const small = randomQuadratic({ seed: 8, dim: 3, bScale: 300 });
    const exact = latticeMinimum(small, { spacing: 8 });
    let best = Infinity;
    const x = new Float64Array(3);
    for (let a = -40; a <= 40; a++) {
      for (let b = -40; b <= 40; b++) {
        for (let c = -40; c <= 40; c++) {
          x[0] = 8 * a;
          x[1] = 8 * b;
          x[2] = 8 * c;
          best = Math.min(best, quadraticObjective(small, x));
        }
      }
    }
    expect(maxAbs(exact.x as Float64Array)).toBeLessThan(8 * 40);
    expect(exact.value).toBeCloseTo(best, 9);
    const rounded = quadraticObjective(small, latticeRound(continuousMinimizer(small)));
    expect(exact.value as number).toBeLessThan(rounded - 1);
  });

  it('PGD stops at a fixed point of x ← Proj(x − η∇f(x))', () => {
    const L = largestEigenvalue(problem.Q, 16);
    const r = runPGD(problem, randomVector(16, 40, 10), 1 / L);
    expect(r.iterations).toBeLessThan(30_000);
    const g = quadraticGradient(problem, r.bestX);
    const next = latticeRound(r.bestX.map((v, i) => v - g[i] / L));
    expect(Array.from(next)).toEqual(Array.from(r.bestX));
    expect(r.best).toBe(quadraticObjective(problem, r.bestX));
  });

  it('rejects bad input with a clear message', () => {
    expect(() => new QuadraticADMM(problem, 0)).toThrow(/rho must be a finite number > 0, got 0/);
    expect(() => new QuadraticADMM(problem, -1)).toThrow(/rho/);
    const admm = new QuadraticADMM(problem, 1);
    const x0 = new Float64Array(16);
    expect(() => admm.run(x0, { kind: 'soft', beta: -1 })).toThrow(/beta must be >= 0, got -1/);
    expect(() => admm.run(x0, { kind: 'random', p: 1.5 })).toThrow(
      /p must be in \[0, 1\], got 1.5/,
    );
    expect(() => admm.run(x0, { kind: 'random', p: -0.1 })).toThrow(/p must be in \[0, 1\]/);
    expect(() => admm.run(new Float64Array(3), { kind: 'hard' })).toThrow(/x0 needs 16 entries/);
    expect(() => admm.run(x0, { kind: 'hard' }, { iterations: 0 })).toThrow(/iterations/);
    expect(() => runPGD(problem, x0, 0)).toThrow(/step must be > 0/);
  });
});
