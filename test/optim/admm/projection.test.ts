import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { randomProjection, softProjection } from '../../../src/optim/admm/index.js';
import { nearestLevel } from '../../../src/quant/levels.js';

const values = (t: tf.Tensor) => Array.from(t.dataSync());

/** v and its nearest level among {-1, 0, 1}. */
function setup(n = 64, seed = 1) {
  const v = tf.randomNormal([n], 0, 1, 'float32', seed);
  const Q = tf.tensor3d([-1, 0, 1], [1, 3, 1]);
  const p = tf.reshape(nearestLevel(tf.reshape(v, [1, n, 1]) as tf.Tensor3D, Q), [n]);
  return { v, p };
}

describe('soft projection (ADMM-S)', () => {
  it('equals the hard projection when β/ρ is at least the distance', () => {
    tf.tidy(() => {
      const { v, p } = setup();
      const dist = tf.norm(tf.sub(p, v)).dataSync()[0];
      expect(values(softProjection(v, p, dist))).toEqual(values(p));
      expect(values(softProjection(v, p, dist * 10))).toEqual(values(p));
      const maxElem = tf.max(tf.abs(tf.sub(p, v))).dataSync()[0];
      expect(values(softProjection(v, p, maxElem, 'element'))).toEqual(values(p));
    });
  });

  it('leaves v where β = 0', () => {
    tf.tidy(() => {
      const { v, p } = setup();
      expect(values(softProjection(v, p, 0))).toEqual(values(v));
      expect(values(softProjection(v, p, 0, 'element'))).toEqual(values(v));
    });
  });

  it('steps exactly β/ρ toward p otherwise: along the whole tensor, or per weight', () => {
    tf.tidy(() => {
      const { v, p } = setup();
      const dist = tf.norm(tf.sub(p, v)).dataSync()[0];
      const r = dist / 4;
      const z = softProjection(v, p, r);
      expect(tf.norm(tf.sub(z, v)).dataSync()[0]).toBeCloseTo(r, 5);
      // z lies on the segment from v to p: z − v parallel to p − v
      const expected = tf.add(v, tf.mul(tf.sub(p, v), r / dist));
      expect(tf.max(tf.abs(tf.sub(z, expected))).dataSync()[0]).toBeLessThan(1e-6);

      const ze = softProjection(v, p, 0.1, 'element');
      const d = tf.sub(p, v).dataSync();
      const vv = v.dataSync();
      const pp = p.dataSync();
      values(ze).forEach((zi, i) => {
        const want = Math.abs(d[i]) <= 0.1 ? pp[i] : vv[i] + Math.sign(d[i]) * 0.1;
        expect(zi).toBeCloseTo(want, 6);
      });
    });
  });

  it('rejects a negative radius', () => {
    tf.tidy(() => {
      const { v, p } = setup(4);
      expect(() => softProjection(v, p, -1)).toThrow(/radius \(beta \/ rho\) must be >= 0, got -1/);
    });
  });
});

describe('random projection (ADMM-R)', () => {
  it('p = 1 equals the hard projection; p = 0 keeps z (or takes v)', () => {
    tf.tidy(() => {
      const { v, p } = setup();
      const z = tf.fill([64], 0.5);
      expect(values(randomProjection(v, p, z, 1, 3))).toEqual(values(p));
      expect(values(randomProjection(v, p, z, 0, 3))).toEqual(values(z));
      expect(values(randomProjection(v, p, z, 0, 3, 'unprojected'))).toEqual(values(v));
    });
  });

  it('repeats with the same seed, changes with another, and takes about a fraction p', () => {
    tf.tidy(() => {
      const n = 20_000;
      const { v, p } = setup(n, 2);
      const z = tf.fill([n], 7); // never a level: counts which entries took p
      const a = values(randomProjection(v, p, z, 0.3, 11));
      expect(values(randomProjection(v, p, z, 0.3, 11))).toEqual(a);
      expect(values(randomProjection(v, p, z, 0.3, 12))).not.toEqual(a);
      const pp = p.dataSync();
      expect(a.filter((ai, i) => ai !== 7 && ai !== pp[i]).length).toBe(0);
      const taken = a.filter((ai) => ai !== 7).length / n;
      expect(taken).toBeGreaterThan(0.28);
      expect(taken).toBeLessThan(0.32);
    });
  });

  it('rejects p outside [0, 1]', () => {
    tf.tidy(() => {
      const { v, p } = setup(4);
      expect(() => randomProjection(v, p, v, 1.2, 0)).toThrow(/p must be in \[0, 1\], got 1.2/);
      expect(() => randomProjection(v, p, v, NaN, 0)).toThrow(/p must be in \[0, 1\]/);
    });
  });
});
