import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  quantizerByName,
  stretchedCodeRange,
  StretchedUnifQuantizer,
  UnifQuantizer,
} from '../../src/index.js';
import { useBackend } from '../helpers.js';

beforeAll(() => useBackend('cpu'));

interface Case {
  name: string;
  bits: number;
  shape: [number, number];
  w: number[];
  codes: number[];
  scale: number[];
  q: number[];
  levels: number[][];
}
// Made by bench/reference/make_stretched_vectors.py from torchao's formula, in torch float32.
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/quant/stretched-torchao.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

describe('StretchedUnifQuantizer against torchao (torch float32)', () => {
  it('has the cases it is meant to check', () => {
    expect(fixture.cases.map((c) => c.bits)).toEqual(expect.arrayContaining([1, 2, 3, 4]));
  });
  for (const c of fixture.cases) {
    it(`${c.name}: codes, scales, q and levels equal torch's`, () => {
      const [rows, cols] = c.shape;
      const quantizer = new StretchedUnifQuantizer();
      const view = tf.tensor3d(c.w, [rows, cols, 1]);
      const { q, Q } = quantizer.quantize(view, c.bits);
      const { codes, scale } = quantizer.stretchedCodes(view, c.bits);
      // The scales agree to float32 rounding (tf and torch sum the mean in different orders)...
      const s = scale.dataSync();
      c.scale.forEach((v, i) => expect(Math.abs(s[i] - v)).toBeLessThanOrEqual(v * 4e-7));
      // ...so a code may differ only where w / s - 1/2 sits on a rounding boundary.
      const cv = codes.dataSync();
      let exact = 0;
      c.codes.forEach((code, i) => {
        if (cv[i] === code) return void exact++;
        const x = c.w[i] / c.scale[Math.floor(i / cols)] - 0.5;
        expect(Math.abs(Math.abs(x % 1) - 0.5)).toBeLessThan(1e-5);
      });
      expect(exact).toBeGreaterThanOrEqual(c.codes.length - 1);
      // q within one float32 rounding of torch's (same formula, tf's op order)
      const qv = q.dataSync();
      c.q.forEach((v, i) => {
        if (cv[i] === c.codes[i])
          expect(Math.abs(qv[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 4e-7);
      });
      const Qv = tf.transpose(Q, [0, 2, 1]).reshape([rows, -1]).arraySync() as number[][];
      Qv.forEach((row, r) =>
        row.forEach((v, k) =>
          expect(Math.abs(v - c.levels[r][k])).toBeLessThanOrEqual(Math.abs(v) * 4e-7),
        ),
      );
      tf.dispose([view, q, Q, codes, scale]);
    });
  }

  it('levels are ±(2^(b-1) - 1/2) s at the ends, and codes span [-2^(b-1), 2^(b-1) - 1]', () => {
    const w = tf.tensor3d([-3, -1, 0.2, 0.5, 1, 4, -0.1, 2], [1, 8, 1]);
    const quantizer = new StretchedUnifQuantizer();
    for (const bits of [2, 3]) {
      const { Q } = quantizer.quantize(w, bits);
      const { codes, scale } = quantizer.stretchedCodes(w, bits);
      const s = scale.dataSync()[0];
      const absMean = (3 + 1 + 0.2 + 0.5 + 1 + 4 + 0.1 + 2) / 8;
      expect(s).toBeCloseTo(Math.min(bits * absMean, 4) / (2 ** (bits - 1) - 0.5), 6);
      const levels = Array.from(Q.dataSync());
      expect(levels.length).toBe(2 ** bits);
      expect(levels[0]).toBeCloseTo(-(2 ** (bits - 1) - 0.5) * s, 6);
      expect(levels[levels.length - 1]).toBeCloseTo((2 ** (bits - 1) - 0.5) * s, 6);
      const [lo, hi] = stretchedCodeRange(bits);
      const cv = Array.from(codes.dataSync());
      expect(Math.min(...cv)).toBeGreaterThanOrEqual(lo);
      expect(Math.max(...cv)).toBeLessThanOrEqual(hi);
      // at 2 bits the range m = 2 mean|w| = 2.95 < 4: -3 and 4 clamp onto the end codes
      if (bits === 2) expect([cv[0], cv[5]]).toEqual([lo, hi]);
      tf.dispose([Q, codes, scale]);
    }
    w.dispose();
  });

  it('floors the range at float32 eps, where UnifQuantizer floors at the smallest float32', () => {
    const w = tf.tensor3d([1e-30, -1e-30, 2e-30, 0], [1, 4, 1]);
    const stretched = new StretchedUnifQuantizer().quantize(w, 2);
    const unif = new UnifQuantizer().quantize(w, 2);
    expect(stretched.Q.dataSync()[3]).toBeCloseTo(2 ** -23, 12);
    expect(unif.Q.dataSync()[3]).toBeLessThan(1e-20);
    tf.dispose([w, stretched.q, stretched.Q, unif.q, unif.Q]);
  });

  it("is the CLI's 'stretched', and refuses ternary and a bad eps", () => {
    expect(quantizerByName('stretched', 3)).toBeInstanceOf(StretchedUnifQuantizer);
    const w = tf.zeros([1, 4, 1]) as tf.Tensor3D;
    expect(() => new StretchedUnifQuantizer().quantize(w, 0)).toThrow('no ternary mode');
    expect(() => new StretchedUnifQuantizer({ eps: 0 })).toThrow('eps must be a positive number');
    w.dispose();
  });
});
