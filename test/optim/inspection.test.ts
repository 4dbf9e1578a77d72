import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMMQOptimizer,
  ProxHardQuant,
  ProxPARQ,
  qatInspection,
  QuantOptimizer,
  type QatInspection,
} from '../../src/index.js';
import { normals, useBackend } from '../helpers.js';

beforeAll(() => useBackend('cpu'));

let uid = 0;
/** One [6, 4] kernel and a bias, and a step of gradients of ones on both. */
function variables() {
  const id = uid++;
  const kernel = tf.variable(tf.tensor2d(normals(24, 3), [6, 4]), true, `insp${id}/kernel`);
  const bias = tf.variable(tf.zeros([4]), true, `insp${id}/bias`);
  const step = (opt: tf.Optimizer) =>
    tf.tidy(() =>
      opt.applyGradients({ [kernel.name]: tf.onesLike(kernel), [bias.name]: tf.onesLike(bias) }),
    );
  return { kernel, bias, step };
}

const levelCount = (q: QatInspection, v: tf.Variable) => {
  const rows = q.getLevels(v) as tf.Tensor2D;
  const shape = rows.shape;
  rows.dispose();
  return shape;
};

describe('QatInspection: both optimizers read the same way', () => {
  it('recognizes QAT optimizers without instanceof (which tfjs makes say yes to any)', () => {
    const parq = new QuantOptimizer({ base: tf.train.sgd(0.1) });
    const admm = new ADMMQOptimizer({ base: tf.train.sgd(0.1) });
    expect(qatInspection(parq)).toBe(parq);
    expect(qatInspection(admm)).toBe(admm);
    expect(qatInspection(tf.train.sgd(0.1))).toBeNull();
    expect(qatInspection(null)).toBeNull();
    [parq, admm].forEach((o) => o.dispose());
  });

  it('QuantOptimizer: latent shadow, its levels, and the inverse slope by name', () => {
    const { kernel, bias, step } = variables();
    const prox = new ProxPARQ({ annealStart: 0, annealEnd: 10 });
    const opt = new QuantOptimizer({ base: tf.train.sgd(0.1), prox, bits: 2 });
    expect(opt.quantizedEntries).toEqual([]);
    expect(opt.getShadow(kernel)).toBeNull();
    step(opt);
    const q: QatInspection = opt;
    expect(q.quantizedEntries.map((e) => e.name)).toEqual([kernel.name]);
    expect(q.quantizedEntries[0].granularity).toEqual({ kind: 'tensor' });
    expect(q.shadowName).toBe('latent');
    expect(q.getShadow(kernel)).toBe(opt.getLatent(kernel));
    expect(q.getShadow(bias)).toBeNull();
    expect(levelCount(q, kernel)).toEqual([1, 4]);
    expect(q.schedule?.name).toBe('inverse slope');
    expect(q.schedule?.key).toBe('inverseSlope');
    expect(q.schedule?.at(3)).toBe(prox.inverseSlope(3));
    expect(q.schedule?.varies).toBe(true);
    expect(q.prox).toBe(prox);
    expect(q.step).toBe(1);
    opt.dispose();
    tf.dispose([kernel, bias]);
  });

  it('STE: an inverse slope that never varies (no curve to draw)', () => {
    const opt = new QuantOptimizer({ base: tf.train.sgd(0.1), prox: new ProxHardQuant() });
    expect(opt.schedule.at(5)).toBe(0);
    expect(opt.schedule.varies).toBe(false);
    opt.dispose();
  });

  it('ADMMQOptimizer: z as the shadow, rho by name, and no prox map', () => {
    const { kernel, bias, step } = variables();
    const rho = { kind: 'geometric' as const, rho: 0.01, factor: 2, every: 1 };
    const opt = new ADMMQOptimizer({ base: tf.train.sgd(0.1), rho, bits: 1 });
    step(opt);
    const q: QatInspection = opt;
    expect(q.shadowName).toBe('z');
    expect(q.getShadow(kernel)).toBe(opt.getZ(kernel));
    expect(q.getShadow(kernel)).not.toBeNull();
    expect(levelCount(q, kernel)).toEqual([1, 2]);
    expect(q.schedule?.name).toBe('rho');
    expect(q.schedule?.key).toBe('rho');
    expect(q.schedule?.at(3)).toBeCloseTo(0.08, 12);
    expect(q.prox).toBeUndefined();
    opt.dispose();
    tf.dispose([kernel, bias]);
  });
});
