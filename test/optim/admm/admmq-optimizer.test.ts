import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADMMQOptimizer, type ADMMQOptimizerOptions } from '../../../src/optim/admm/index.js';
import { LSBQuantizer } from '../../../src/quant/lsbq.js';
import { UnifQuantizer } from '../../../src/quant/uniform.js';
import { nearestLevel } from '../../../src/quant/levels.js';
import { ProxPARQ } from '../../../src/prox/parq.js';

const disposers: (() => void)[] = [];
afterEach(() => {
  while (disposers.length) disposers.pop()!();
});

let uid = 0;
/** A small MLP 6-12-3 with seeded weights and unique layer names. */
function smallModel(seed = 1): tf.Sequential {
  const id = uid++;
  const m = tf.sequential();
  m.add(
    tf.layers.dense({
      name: `h${id}`,
      units: 12,
      inputShape: [6],
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
  );
  m.add(
    tf.layers.dense({
      name: `o${id}`,
      units: 3,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
    }),
  );
  disposers.push(() => m.dispose());
  return m;
}

/** A fixed toy classification set: 48 samples, 6 features, 3 classes. */
function toyData() {
  const x = tf.randomNormal([48, 6], 0, 1, 'float32', 3);
  const y = tf.tidy(() =>
    tf.argMax(tf.matMul(x, tf.randomNormal([6, 3], 0, 1, 'float32', 4)), 1).toFloat(),
  );
  return { x, y };
}

const loss = (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) => () =>
  tf.losses.softmaxCrossEntropy(tf.oneHot(y.toInt(), 3), model.apply(x) as tf.Tensor) as tf.Scalar;

function makeOpt(o: Partial<ADMMQOptimizerOptions> = {}): ADMMQOptimizer {
  const opt = new ADMMQOptimizer({ base: tf.train.momentum(0.05, 0.9), rho: 0.05, ...o });
  disposers.push(() => opt.dispose());
  return opt;
}

/** Train `steps` steps on 8-sample batches, in order. */
function train(model: tf.LayersModel, opt: tf.Optimizer, steps: number, from = 0) {
  const { x, y } = data;
  for (let s = from; s < from + steps; s++) {
    const start = (s * 8) % 48;
    tf.tidy(() => {
      const xb = tf.slice(x, [start, 0], [8, -1]);
      const yb = tf.slice(y, [start], [8]);
      opt.minimize(loss(model, xb, yb));
    });
  }
}

const kernels = (m: tf.LayersModel) =>
  m.trainableWeights.filter((w) => w.originalName.endsWith('kernel'));
const distinct = (t: tf.Tensor) => new Set(Array.from(t.dataSync())).size;
const weightValues = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

const data = toyData();
afterAll(() => tf.dispose([data.x, data.y]));

describe('ADMMQOptimizer options', () => {
  const base = () => tf.train.sgd(0.1);
  const bad: [Partial<ADMMQOptimizerOptions>, RegExp][] = [
    [{ rho: 0 }, /rho must be a finite number > 0, got 0/],
    [{ rho: -2 }, /rho must be a finite number > 0, got -2/],
    [
      { rho: { kind: 'phases', values: [1, 0], boundaries: [5] } },
      /every value must be a finite number > 0, got 0/,
    ],
    [{ rho: { kind: 'phases', values: [1, 2], boundaries: [] } }, /2 values need 1 boundaries/],
    [
      { rho: { kind: 'geometric', rho: 1, factor: 2, every: 0 } },
      /every must be an integer >= 1, got 0/,
    ],
    [{ variant: 'soft', beta: -1 }, /beta must be a finite number >= 0, got -1/],
    [{ variant: 'soft' }, /variant 'soft' needs beta/],
    [{ beta: 1 }, /beta is set but variant is 'hard'/],
    [{ variant: 'random', probability: 1.5 }, /probability must be in \[0, 1\], got 1.5/],
    [{ variant: 'random', probability: -0.5 }, /probability must be in \[0, 1\], got -0.5/],
    [{ variant: 'random' }, /variant 'random' needs probability/],
    [{ variant: 'wild' as 'hard' }, /unknown variant 'wild'/],
    [{ projectEvery: 0 }, /projectEvery must be an integer >= 1, got 0/],
    [{ projectEvery: 1.5 }, /projectEvery must be an integer >= 1, got 1.5/],
    [{ dualEvery: 0 }, /dualEvery must be an integer >= 1, got 0/],
    [{ warmupSteps: -1 }, /warmupSteps must be an integer >= 0/],
    [{ totalSteps: 0 }, /totalSteps must be an integer >= 1/],
    [{ bits: 9 }, /bits must be an integer in 0\.\.8/],
    [
      { groups: [{ match: '*', bits: 2, prox: new ProxPARQ({ annealStart: 0, annealEnd: 10 }) }] },
      /sets prox; ADMM uses no prox map/,
    ],
  ];
  for (const [o, re] of bad) {
    it(`rejects ${JSON.stringify(o, (_k, v) => (v instanceof ProxPARQ ? 'ProxPARQ' : v))}`, () => {
      expect(() => new ADMMQOptimizer({ base: base(), ...o })).toThrow(re);
    });
  }

  it('rejects a base that is not a tf.Optimizer', () => {
    expect(() => new ADMMQOptimizer({ base: {} as tf.Optimizer })).toThrow(
      /base must be a tf.Optimizer/,
    );
  });

  it('follows its ρ schedule: constant, phases, geometric with a cap', () => {
    expect(makeOpt({ rho: 0.3 }).rhoAt(100)).toBe(0.3);
    const phases = makeOpt({ rho: { kind: 'phases', values: [0.1, 1, 10], boundaries: [10, 20] } });
    expect([0, 9, 10, 19, 20, 500].map((s) => phases.rhoAt(s))).toEqual([0.1, 0.1, 1, 1, 10, 10]);
    const geo = makeOpt({ rho: { kind: 'geometric', rho: 0.01, factor: 2, every: 5, max: 0.05 } });
    expect([0, 4, 5, 10, 15, 100].map((s) => geo.rhoAt(s))).toEqual([
      0.01, 0.01, 0.02, 0.04, 0.05, 0.05,
    ]);
    expect(geo.rho).toBe(0.01);
  });
});

describe('ADMMQOptimizer steps', () => {
  it('one step is x − lr(∇f + λ + ρ(x − z)), then z = Proj(x + λ/ρ) and λ += ρ(x − z)', () => {
    const name = `lin${uid++}/kernel`;
    const x0 = tf.randomNormal([5, 4], 0, 1, 'float32', 8);
    const w = tf.variable(x0, true, name);
    const g = tf.randomNormal([5, 4], 0, 1, 'float32', 9);
    disposers.push(() => tf.dispose([x0, w, g]));
    const lr = 0.1;
    const rho = 0.5;
    const opt = makeOpt({ base: tf.train.sgd(lr), rho });
    const quantizer = new LSBQuantizer();
    const proj = (x: tf.Tensor) =>
      tf.tidy(() => {
        const view = tf.reshape(x, [1, 20, 1]) as tf.Tensor3D;
        return tf.reshape(nearestLevel(view, quantizer.quantize(view, 2).Q), [5, 4]);
      });
    const close = (a: tf.Tensor, b: tf.Tensor) =>
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);

    tf.tidy(() => {
      const z0 = proj(x0);
      opt.applyGradients({ [name]: g });
      const x1 = tf.sub(x0, tf.mul(tf.add(g, tf.mul(tf.sub(x0, z0), rho)), lr));
      close(w, x1);
      const z1 = proj(x1);
      close(opt.getZ(name) as tf.Tensor, z1);
      const lam1 = tf.mul(tf.sub(x1, z1), rho);
      close(opt.getDual(name) as tf.Tensor, lam1);

      opt.applyGradients({ [name]: g });
      const x2 = tf.sub(x1, tf.mul(tf.add(tf.add(g, lam1), tf.mul(tf.sub(x1, z1), rho)), lr));
      close(w, x2);
      const z2 = proj(tf.add(x2, tf.div(lam1, rho)));
      close(opt.getZ(name) as tf.Tensor, z2);
      close(opt.getDual(name) as tf.Tensor, tf.add(lam1, tf.mul(tf.sub(x2, z2), rho)));
    });
    expect(opt.step).toBe(2);
    expect(opt.projections).toBe(3); // z = Proj(x) at the start, then one per step
    expect(opt.quantizedEntries.map((e) => e.name)).toEqual([name]);
  });

  it('projects every projectEvery steps and updates λ every dualEvery steps, after the warmup', () => {
    const model = smallModel(2);
    const opt = makeOpt({ projectEvery: 3, dualEvery: 6, warmupSteps: 2 });
    const k = kernels(model)[0].read() as tf.Variable;
    train(model, opt, 2);
    expect(opt.getZ(k)).toBeNull(); // warmup: plain training
    train(model, opt, 1, 2);
    const z0 = Array.from((opt.getZ(k) as tf.Tensor).dataSync());
    const dual = () => tf.tidy(() => tf.max(tf.abs(opt.getDual(k) as tf.Tensor)).dataSync()[0]);
    train(model, opt, 1, 3); // ADMM step 2
    expect(Array.from((opt.getZ(k) as tf.Tensor).dataSync())).toEqual(z0);
    expect(opt.projections).toBe(1);
    train(model, opt, 1, 4); // ADMM step 3: projection
    expect(opt.projections).toBe(2);
    expect(dual()).toBe(0);
    train(model, opt, 3, 5); // ADMM step 6: projection and dual update
    expect(opt.projections).toBe(3);
    expect(dual()).toBeGreaterThan(0);
  });

  for (const variant of [
    { variant: 'hard' as const },
    { variant: 'soft' as const, beta: 0.01 },
    { variant: 'random' as const, probability: 0.5, seed: 4 },
  ]) {
    it(`holds no extra tensors across steps (${variant.variant})`, () => {
      const model = smallModel(3);
      const opt = makeOpt(variant);
      train(model, opt, 3);
      const before = tf.memory().numTensors;
      train(model, opt, 6, 3);
      opt.finalize();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('runs under model.fit, finalizes itself after totalSteps, and leaks nothing', async () => {
    const model = smallModel(4);
    const stepsPerEpoch = 6; // 48 samples, batch 8
    const opt = makeOpt({ totalSteps: 2 * stepsPerEpoch, rho: 0.1 });
    model.compile({ optimizer: opt, loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    await model.fit(data.x, data.y, { batchSize: 8, epochs: 1, shuffle: false, verbose: 0 });
    expect(opt.finalized).toBe(false);
    expect(kernels(model).some((k) => distinct(k.read()) > 4)).toBe(true);
    const before = tf.memory().numTensors;
    const h = await model.fit(data.x, data.y, {
      batchSize: 8,
      epochs: 1,
      shuffle: false,
      verbose: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(h.history.loss[0] as number)).toBe(true);
    expect(opt.step).toBe(12);
    expect(opt.finalized).toBe(true);
    for (const k of kernels(model)) expect(distinct(k.read())).toBeLessThanOrEqual(4);
    // biases stay in float
    const bias = model.trainableWeights.find((w) => w.originalName.endsWith('bias'))!.read();
    expect(distinct(bias)).toBeGreaterThan(4);
  });

  it('finalize puts every weight on its levels: per tensor, per channel, ternary', () => {
    const cases: [Partial<ADMMQOptimizerOptions>, number][] = [
      [{ bits: 2 }, 4],
      [{ bits: 1, quantizer: new UnifQuantizer() }, 2],
      [{ bits: 0 }, 3],
      [{ bits: 2, granularity: { kind: 'channel' } }, 4],
    ];
    for (const [o, k] of cases) {
      const model = smallModel(5);
      const opt = makeOpt(o);
      train(model, opt, 4);
      opt.finalize();
      for (const e of opt.quantizedEntries) {
        const w = e.variable.arraySync() as number[][];
        const levelsT = opt.getLevels(e.variable) as tf.Tensor2D;
        const levels = levelsT.arraySync();
        levelsT.dispose();
        const perChannel = o.granularity?.kind === 'channel';
        // each group's weights are among that group's levels
        const groups = perChannel ? levels.length : 1;
        for (let gi = 0; gi < groups; gi++) {
          const vals = perChannel ? w.map((row) => row[gi]) : w.flat();
          const allowed = new Set(levels[gi]);
          expect(new Set(vals).size).toBeLessThanOrEqual(k);
          expect(vals.every((v) => allowed.has(v))).toBe(true);
        }
        expect(Array.from((opt.getZ(e.variable) as tf.Tensor).dataSync())).toEqual(w.flat());
      }
    }
  });

  it('the random variant repeats with the same seed and not with another', () => {
    const run = (seed: number) => {
      const model = smallModel(6);
      const opt = makeOpt({ variant: 'random', probability: 0.3, seed, rho: 0.5 });
      train(model, opt, 8);
      return weightValues(model);
    };
    const a = run(1);
    expect(run(1)).toEqual(a);
    expect(run(2)).not.toEqual(a);
  });

  it('soft with a huge β and random with probability 1 follow hard ADMM-Q exactly', () => {
    const run = (o: Partial<ADMMQOptimizerOptions>) => {
      const model = smallModel(7);
      const opt = makeOpt({ rho: 0.5, ...o });
      train(model, opt, 6);
      return weightValues(model);
    };
    const hard = run({});
    expect(run({ variant: 'soft', beta: 1e9 })).toEqual(hard);
    expect(run({ variant: 'random', probability: 1 })).toEqual(hard);
    expect(run({ variant: 'soft', beta: 0 })).not.toEqual(hard);
  });

  it('saves and restores its state: training resumes exactly', async () => {
    const model = smallModel(8);
    const opt = makeOpt({
      variant: 'random',
      probability: 0.5,
      seed: 3,
      rho: { kind: 'geometric', rho: 0.05, factor: 1.5, every: 2 },
      projectEvery: 2,
      dualEvery: 3,
      lrSchedule: { kind: 'cosine', lr: 0.05, totalSteps: 20 },
    });
    train(model, opt, 5);
    const savedModel = model.getWeights().map((t) => tf.clone(t));
    const savedOpt = (await opt.getWeights()).map((w) => ({
      name: w.name,
      tensor: tf.clone(w.tensor),
    }));
    disposers.push(() => tf.dispose([...savedModel, ...savedOpt.map((w) => w.tensor)]));
    const config = opt.getConfig();

    train(model, opt, 7, 5);
    const straight = weightValues(model);

    model.setWeights(savedModel);
    const [cls, fromConfig] =
      tf.serialization.SerializationMap.getMap().classNameMap['ADMMQOptimizer'];
    const restored = fromConfig(
      cls,
      JSON.parse(JSON.stringify(config)),
    ) as unknown as ADMMQOptimizer;
    disposers.push(() => restored.dispose());
    expect(restored.getConfig()).toEqual(config);
    await restored.setWeights(savedOpt);
    expect(restored.step).toBe(5);
    train(model, restored, 7, 5);
    expect(weightValues(model)).toEqual(straight);
    expect(restored.projections).toBe(opt.projections);
  });

  it('refuses a state without its header, and finalize before any step', async () => {
    const opt = makeOpt();
    await expect(opt.setWeights([])).rejects.toThrow(/missing 'admmq\/state'/);
    expect(() => opt.finalize()).toThrow(/no step taken yet/);
  });

  it('refuses state saved for other variables, and changes nothing', async () => {
    const variable = (shape: [number, number]) => {
      const v = tf.variable(tf.randomNormal(shape, 0, 1, 'float32', 5), true, `m${uid++}/kernel`);
      disposers.push(() => v.dispose());
      return v;
    };
    const a = variable([5, 4]);
    const b = variable([3, 2]);
    const optA = makeOpt({ base: tf.train.sgd(0.1) });
    const optB = makeOpt({ base: tf.train.sgd(0.1) });
    tf.tidy(() => optA.applyGradients({ [a.name]: tf.onesLike(a) }));
    tf.tidy(() => optB.applyGradients({ [b.name]: tf.onesLike(b) }));
    const saved = await optA.getWeights();
    const zBefore = Array.from((optB.getZ(b) as tf.Tensor).dataSync());
    const tensors = tf.memory().numTensors;
    await expect(optB.setWeights(saved)).rejects.toThrow(
      /restored z 0 has 20 values, variable 'm\d+\/kernel' 6/,
    );
    expect(tf.memory().numTensors).toBe(tensors);
    expect(optB.step).toBe(1);
    expect(Array.from((optB.getZ(b) as tf.Tensor).dataSync())).toEqual(zBefore);
  });

  it('freezes the levels after freezeLevelsAfter', () => {
    const model = smallModel(9);
    const opt = makeOpt({ freezeLevelsAfter: 3, rho: 0.2 });
    const k = kernels(model)[0].read() as tf.Variable;
    train(model, opt, 3);
    const levels = () => {
      const t = opt.getLevels(k) as tf.Tensor;
      const v = Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    const atFreeze = levels();
    train(model, opt, 5, 3);
    expect(levels()).toEqual(atFreeze);
    opt.finalize();
    expect(levels()).toEqual(atFreeze);
    expect(Array.from(k.dataSync()).every((v) => atFreeze.includes(v))).toBe(true);
  });
});
