import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AsymUnifQuantizer,
  Granularity,
  groupView,
  LSBQuantizer,
  MaxUnifQuantizer,
  nearestLevel,
  Quantizer,
  quantizeTensor,
  StretchedUnifQuantizer,
  TernaryUnifQuantizer,
  UnifQuantizer,
} from '../../src/index.js';
import { heavyTailed, normals, useBackend } from '../helpers.js';

beforeAll(() => useBackend('wasm'));

const cases: [string, Quantizer, number[]][] = [
  ['unif', new UnifQuantizer(), [1, 2, 3, 4]],
  ['unif max scale', new UnifQuantizer({ scaleMethod: 'max' }), [1, 2, 4]],
  ['unif centered', new UnifQuantizer({ center: true }), [2, 3]],
  ['max unif', new MaxUnifQuantizer(), [2, 3, 4]],
  ['asym', new AsymUnifQuantizer(), [1, 2, 4]],
  ['stretched', new StretchedUnifQuantizer(), [1, 2, 3, 4]],
  ['ternary unif', new TernaryUnifQuantizer(), [0]],
  ['lsbq greedy', new LSBQuantizer(), [0, 1, 2, 3, 4]],
  ['lsbq optimal', new LSBQuantizer({ optimal: true }), [0, 1, 2]],
];
const granularities: [string, Granularity][] = [
  ['tensor', { kind: 'tensor' }],
  ['channel', { kind: 'channel' }],
  ['block', { kind: 'block', blockSize: 8 }],
];

describe('quantizers', () => {
  // levels() == quantize().Q also where Q need not hold q (the reference's asymmetric levels
  // ignore the zero point): not in `cases`, whose other checks it would fail
  const levelCases: [string, Quantizer, number[]][] = [
    ...cases,
    ['asym reference-compatible', new AsymUnifQuantizer({ referenceCompat: true }), [2, 3]],
  ];
  for (const [name, quantizer, bitsList] of levelCases) {
    it(`${name}: levels() is quantize()'s Q bit for bit, per tensor and per channel`, () => {
      const bitsOf = (t: tf.Tensor) => Array.from(new Uint32Array(t.dataSync().buffer));
      for (const bits of bitsList) {
        for (const shape of [
          [1, 301, 1],
          [1, 40, 6],
        ] as [number, number, number][]) {
          const p = tf.tensor3d(heavyTailed(shape[1] * shape[2], bits + shape[2]), shape);
          const before = tf.memory().numTensors;
          const Q = quantizer.levels(p, bits);
          expect(tf.memory().numTensors).toBe(before + 1);
          const want = quantizer.quantize(p, bits);
          expect(bitsOf(Q), `${bits} bits [${shape}]`).toEqual(bitsOf(want.Q));
          tf.dispose([p, Q, want.q, want.Q]);
        }
      }
    });
  }
  for (const [name, quantizer, bitsList] of cases) {
    for (const bits of bitsList) {
      for (const [gName, g] of granularities) {
        it(`${name} ${bits} bits per ${gName}: q lies in Q, at most ${quantizer.quantSize(bits)} values a group, levels ascending`, () => {
          const shape = [32, 6];
          const w = tf.tensor(normals(32 * 6, bits * 7 + gName.length), shape);
          const { q, levels } = quantizeTensor(quantizer, w, bits, g);
          const view = groupView(shape, g);
          const [A, M, C] = view.view;
          const qv = q.dataSync();
          const L = levels.arraySync() as number[][];
          expect(L.length).toBe(view.numGroups);
          for (const row of L) {
            expect(row.length).toBe(quantizer.quantSize(bits));
            for (let j = 1; j < row.length; j++) expect(row[j]).toBeGreaterThanOrEqual(row[j - 1]);
          }
          // every quantized weight is (within float rounding) one of its group's levels
          for (let a = 0; a < A; a++) {
            for (let c = 0; c < C; c++) {
              const row = L[a * C + c];
              const seen = new Set<number>();
              for (let m = 0; m < M; m++) {
                const v = qv[a * M * C + m * C + c];
                seen.add(v);
                const gap = Math.min(...row.map((l) => Math.abs(l - v)));
                // the reference's asymmetric Q is fixed here: q lies in Q
                expect(gap).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)));
              }
              expect(seen.size).toBeLessThanOrEqual(quantizer.quantSize(bits));
            }
          }
          tf.dispose([w, q, levels]);
        });
      }
    }
  }

  it('hard quantization to Q is idempotent and lands exactly on the levels', () => {
    const w = tf.tensor3d(normals(300, 3), [1, 300, 1]);
    const { Q } = new LSBQuantizer().quantize(w, 2);
    const once = nearestLevel(w, Q);
    const twice = nearestLevel(once, Q);
    expect(Array.from(twice.dataSync())).toEqual(Array.from(once.dataSync()));
    const levels = new Set(Array.from(Q.dataSync()));
    for (const v of once.dataSync()) expect(levels.has(v)).toBe(true);
    tf.dispose([w, Q, once, twice]);
  });

  it('zero and constant tensors give no NaN', () => {
    for (const fill of [0, 0.25]) {
      const w = tf.fill([4, 5], fill);
      for (const [, quantizer, bitsList] of cases) {
        for (const bits of bitsList) {
          const { q, levels } = quantizeTensor(quantizer, w, bits, { kind: 'channel' });
          expect(q.dataSync().every(Number.isFinite)).toBe(true);
          expect(levels.dataSync().every(Number.isFinite)).toBe(true);
          tf.dispose([q, levels]);
        }
      }
      w.dispose();
    }
  });

  it('rejects bits outside 0..8 and modes a quantizer lacks', () => {
    const w = tf.ones([4, 4]);
    expect(() => quantizeTensor(new UnifQuantizer(), w, 9)).toThrow(/0\.\.8/);
    expect(() => quantizeTensor(new UnifQuantizer(), w, 0)).toThrow(/TernaryUnifQuantizer/);
    expect(() => quantizeTensor(new MaxUnifQuantizer(), w, 1)).toThrow(/bits >= 2/);
    expect(() => quantizeTensor(new LSBQuantizer({ optimal: true }), w, 3)).toThrow(/optimal/);
    expect(() => quantizeTensor(new LSBQuantizer(), w, 2, { kind: 'block', blockSize: 3 })).toThrow(
      /not divisible by blockSize 3/,
    );
    w.dispose();
  });
});

/** Least-squares error of the best symmetric level set, by brute force over splits (float64). */
function bruteForce(values: number[], ternary: boolean): number {
  const a = values.map(Math.abs).sort((x, y) => x - y);
  const n = a.length;
  const sse = (lo: number, hi: number) => {
    if (hi <= lo) return 0;
    const part = a.slice(lo, hi);
    const mean = part.reduce((s, v) => s + v, 0) / part.length;
    return part.reduce((s, v) => s + (v - mean) ** 2, 0);
  };
  let best = Infinity;
  for (let k = ternary ? 0 : 1; k < n; k++) {
    const low = ternary ? a.slice(0, k).reduce((s, v) => s + v * v, 0) : sse(0, k);
    best = Math.min(best, low + sse(k, n));
  }
  return best;
}

function rowErrors(q: tf.Tensor, w: Float32Array, rows: number): number[] {
  const qv = q.dataSync();
  const cols = w.length / rows;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let e = 0;
    for (let c = 0; c < cols; c++) e += (qv[r * cols + c] - w[r * cols + c]) ** 2;
    out.push(e);
  }
  return out;
}

describe('optimal LSBQ', () => {
  for (const [dist, gen] of [
    ['normal', normals],
    ['heavy-tailed', heavyTailed],
  ] as const) {
    for (const bits of [2, 0]) {
      it(`${dist} rows of 64, ${bits === 0 ? 'ternary' : '2 bits'}, per channel: reaches the brute-force optimum and never exceeds greedy`, () => {
        const rows = 12;
        const data = gen(rows * 64, 11 + bits);
        const w = tf.tensor2d(data, [rows, 64]);
        const g: Granularity = { kind: 'channel', axis: 0 };
        const opt = quantizeTensor(new LSBQuantizer({ optimal: true }), w, bits, g);
        const greedy = quantizeTensor(new LSBQuantizer(), w, bits, g);
        const eOpt = rowErrors(opt.q, data, rows);
        const eGreedy = rowErrors(greedy.q, data, rows);
        for (let r = 0; r < rows; r++) {
          const row = Array.from(data.slice(r * 64, (r + 1) * 64));
          const target = bruteForce(row, bits === 0);
          expect(eOpt[r]).toBeLessThanOrEqual(target * (1 + 1e-4) + 1e-9);
          expect(eOpt[r]).toBeLessThanOrEqual(eGreedy[r] * (1 + 1e-5) + 1e-9);
        }
        tf.dispose([w, opt.q, opt.levels, greedy.q, greedy.levels]);
      });
    }
  }

  it('per tensor on a 784x256-sized kernel stays optimal against greedy', () => {
    const data = heavyTailed(784 * 16, 5);
    const w = tf.tensor2d(data, [784, 16]);
    const opt = quantizeTensor(new LSBQuantizer({ optimal: true }), w, 2);
    const greedy = quantizeTensor(new LSBQuantizer(), w, 2);
    const [eo] = rowErrors(tf.reshape(opt.q, [1, -1]), data, 1);
    const [eg] = rowErrors(tf.reshape(greedy.q, [1, -1]), data, 1);
    expect(eo).toBeLessThanOrEqual(eg);
    tf.dispose([w, opt.q, opt.levels, greedy.q, greedy.levels]);
  });
});
