import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LSBQuantizer,
  ProxBinaryRelax,
  ProxHardQuant,
  ProxPARQ,
  QuantOptimizer,
  UnifQuantizer,
} from '../../src/index.js';
import { distinct, normals, useBackend } from '../helpers.js';
import { float64Words } from '../../src/optim/serialization.js';

beforeAll(() => useBackend('wasm'));

let modelCount = 0;
function smallModel(): tf.Sequential {
  const seed = 7;
  const id = modelCount++;
  return tf.sequential({
    name: `m${id}`,
    layers: [
      tf.layers.dense({
        units: 16,
        activation: 'relu',
        inputShape: [12],
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        name: `m${id}_fc1`,
      }),
      tf.layers.dense({
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
        name: `m${id}_fc2`,
      }),
    ],
  });
}

function data(n = 96): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const x = tf.tensor2d(normals(n * 12, 5), [n, 12]);
  const labels = tf.argMax(tf.matMul(x, tf.tensor2d(normals(12 * 3, 6), [12, 3])), 1);
  return { x, y: tf.oneHot(labels, 3).toFloat() as tf.Tensor2D };
}

const kernels = (m: tf.LayersModel) => m.weights.filter((w) => w.originalName.endsWith('kernel'));

describe('QuantOptimizer with model.fit', () => {
  it('trains, ends on at most 2^b levels per kernel, and leaks no tensor from step to step', async () => {
    const model = smallModel();
    const opt = new QuantOptimizer({
      base: tf.train.momentum(0.05, 0.9),
      quantizer: new LSBQuantizer(),
      prox: new ProxPARQ({ annealStart: 0, annealEnd: 12 }),
      bits: 2,
      quantPeriod: 3,
    });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const { x, y } = data();
    await model.fit(x, y, { batchSize: 32, epochs: 2, verbose: 0, shuffle: false });
    const before = tf.memory().numTensors;
    await model.fit(x, y, { batchSize: 32, epochs: 3, verbose: 0, shuffle: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(opt.step).toBe(15);
    for (const k of kernels(model)) expect(distinct(k.read().dataSync())).toBeLessThanOrEqual(4);
    // biases are not quantized
    const bias = model.weights.find((w) => w.originalName.endsWith('bias'));
    expect(distinct(bias!.read().dataSync())).toBeGreaterThan(4);
    expect(opt.quantizedEntries.map((e) => e.name.split('/').pop())).toEqual(['kernel', 'kernel']);
  });

  for (const [name, make] of [
    ['sgd', () => tf.train.sgd(0.05)],
    ['momentum', () => tf.train.momentum(0.01, 0.9)],
    ['adam', () => tf.train.adam(0.01)],
    ['adamax', () => tf.train.adamax(0.01)],
    ['rmsprop', () => tf.train.rmsprop(0.01)],
    ['adagrad', () => tf.train.adagrad(0.05)],
  ] as const) {
    it(`wraps ${name} in a custom loop with minimize`, () => {
      const w = tf.variable(tf.tensor2d(normals(40, 9), [8, 5]), true, `${name}_loop/kernel`);
      const target = tf.tensor2d(normals(40, 10), [8, 5]);
      const opt = new QuantOptimizer({ base: make(), bits: 1, quantPeriod: 1 });
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const loss = opt.minimize(() => tf.sum(tf.square(tf.sub(w, target))), true);
        losses.push(loss!.dataSync()[0]);
        loss!.dispose();
      }
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
      expect(distinct(w.dataSync())).toBeLessThanOrEqual(2);
      opt.dispose();
      tf.dispose([w, target]);
    });
  }
});

describe('QuantOptimizer groups and options', () => {
  it('per-channel and per-block groups chosen by name patterns', () => {
    const a = tf.variable(tf.tensor2d(normals(64, 1), [16, 4]), true, 'grp/a/kernel');
    const b = tf.variable(tf.tensor2d(normals(64, 2), [16, 4]), true, 'grp/b/kernel');
    const opt = new QuantOptimizer({
      base: tf.train.sgd(0.01),
      prox: new ProxHardQuant(),
      groups: [
        { match: 'grp/a/*', bits: 1, granularity: { kind: 'channel' } },
        { match: 'grp/?/kernel', bits: 2, granularity: { kind: 'block', blockSize: 8 } },
      ],
    });
    opt.applyGradients({ [a.name]: tf.zerosLike(a), [b.name]: tf.zerosLike(b) });
    const av = a.arraySync() as number[][];
    for (let c = 0; c < 4; c++) expect(distinct(av.map((r) => r[c]))).toBeLessThanOrEqual(2);
    const bv = b.arraySync() as number[][];
    for (let blk = 0; blk < 2; blk++) {
      for (let c = 0; c < 4; c++) {
        expect(distinct(bv.slice(blk * 8, blk * 8 + 8).map((r) => r[c]))).toBeLessThanOrEqual(4);
      }
    }
    expect(opt.getLevels(a)!.shape).toEqual([4, 2]);
    expect(opt.getLevels(b)!.shape).toEqual([8, 4]);
    opt.dispose();
    tf.dispose([a, b]);
  });

  it('a learning-rate schedule reaches the base optimizer and the cumulative lr', () => {
    const w = tf.variable(tf.ones([4, 4]), true, 'sched/kernel');
    const opt = new QuantOptimizer({
      base: tf.train.sgd(1),
      bits: 2,
      lrSchedule: { kind: 'cosine', lr: 0.1, totalSteps: 4 },
    });
    const lrs: number[] = [];
    for (let i = 0; i < 4; i++) {
      opt.applyGradients({ [w.name]: tf.zerosLike(w) });
      lrs.push(opt.learningRate);
    }
    const expected = [0, 1, 2, 3].map((s) => 0.05 * (1 + Math.cos((Math.PI * s) / 4)));
    lrs.forEach((lr, i) => expect(lr).toBeCloseTo(expected[i], 10));
    expect(opt.cumulativeLr).toBeCloseTo(
      expected.reduce((s, v) => s + v, 0),
      10,
    );
    opt.dispose();
    w.dispose();
  });

  it('decoupled weight decay shrinks the weights of its group only', () => {
    const a = tf.variable(tf.ones([3]), true, 'wd/a/bias');
    const b = tf.variable(tf.ones([3]), true, 'wd/b/bias');
    const opt = new QuantOptimizer({
      base: tf.train.sgd(0.1),
      groups: [{ match: 'wd/a/*', weightDecay: 0.5 }],
    });
    opt.applyGradients({ [a.name]: tf.zerosLike(a), [b.name]: tf.zerosLike(b) });
    expect(a.dataSync()[0]).toBeCloseTo(0.95, 6);
    expect(b.dataSync()[0]).toBe(1);
    opt.dispose();
    tf.dispose([a, b]);
  });

  it('quantShrink quantizes w / max(1, cumulative lr)', () => {
    const w = tf.variable(tf.tensor1d([1, -1, 2, -2]), true, 'shrink/kernel');
    const opt = new QuantOptimizer({
      base: tf.train.sgd(4),
      bits: 1,
      quantShrink: true,
      quantPeriod: 1,
    });
    opt.applyGradients({ [w.name]: tf.zerosLike(w) });
    // cumulative lr 4: the map sees w / 4, then quantizes it to ±mean|w/4| = ±0.375
    expect(Array.from(w.dataSync())).toEqual([0.375, -0.375, 0.375, -0.375]);
    opt.dispose();
    w.dispose();
  });
});

describe('QuantOptimizer bad input', () => {
  const base = () => tf.train.sgd(0.1);

  it('rejects bad options at construction with a clear message', () => {
    expect(() => new QuantOptimizer({ base: base(), bits: 9 })).toThrow(
      /bits must be an integer in 0\.\.8/,
    );
    expect(() => new QuantOptimizer({ base: base(), bits: -1 })).toThrow(/0\.\.8/);
    expect(() => new ProxPARQ({ annealStart: 10, annealEnd: 10 })).toThrow(
      /annealEnd \(10\) must be greater/,
    );
    expect(() => new ProxBinaryRelax({ annealStart: 5, annealEnd: 1 })).toThrow(/must be greater/);
    expect(() => new QuantOptimizer({ base: base(), groups: [] })).toThrow(/groups is empty/);
    expect(() => new QuantOptimizer({ base: base(), quantPeriod: 0 })).toThrow(/quantPeriod/);
    expect(() => new QuantOptimizer({ base: base(), annealWdFrac: 2 })).toThrow(/annealWdFrac/);
    expect(
      () => new QuantOptimizer({ base: base(), quantizer: new UnifQuantizer(), bits: 0 }),
    ).toThrow(/TernaryUnifQuantizer/);
    expect(() => new QuantOptimizer({ base: {} as tf.Optimizer })).toThrow(
      /base must be a tf.Optimizer/,
    );
  });

  function expectUntouched(vars: tf.Variable[], run: () => void, message: RegExp): void {
    const before = vars.map((v) => Array.from(v.dataSync()));
    expect(run).toThrow(message);
    vars.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(before[i]));
  }

  it('a NaN weight, an empty group, a missing or non-float variable: clear error, nothing mutated', () => {
    const good = tf.variable(tf.tensor1d([0.5, -0.2, 0.1]), true, 'bad/good/kernel');
    const nan = tf.variable(tf.tensor1d([0.5, NaN, 0.1]), true, 'bad/nan/kernel');
    const ints = tf.variable(tf.tensor1d([1, 2, 3], 'int32'), true, 'bad/int/kernel');
    const grads = () => ({ [good.name]: tf.onesLike(good), [nan.name]: tf.onesLike(nan) });
    const opt1 = new QuantOptimizer({ base: base(), groups: [{ match: 'bad/*', bits: 2 }] });
    expectUntouched(
      [good],
      () => opt1.applyGradients(grads()),
      /variable 'bad\/nan\/kernel' holds NaN/,
    );
    const opt2 = new QuantOptimizer({ base: base(), groups: [{ match: 'nothing/*', bits: 2 }] });
    expectUntouched(
      [good],
      () => opt2.applyGradients({ [good.name]: tf.onesLike(good) }),
      /matches no trained variable/,
    );
    const opt3 = new QuantOptimizer({
      base: base(),
      groups: [{ variables: ['bad/absent'], bits: 2 }],
    });
    expectUntouched(
      [good],
      () => opt3.applyGradients({ [good.name]: tf.onesLike(good) }),
      /'bad\/absent' is not among/,
    );
    const opt4 = new QuantOptimizer({ base: base(), groups: [{ match: 'bad/int/*', bits: 2 }] });
    expectUntouched(
      [good],
      () => opt4.applyGradients({ [ints.name]: tf.onesLike(ints), [good.name]: tf.onesLike(good) }),
      /dtype int32/,
    );
    tf.dispose([good, nan, ints]);
  });
});

describe('QuantOptimizer state', () => {
  async function run(
    steps: number,
    resumeAt?: number,
    quantShrink = false,
  ): Promise<{ w: number[]; latent: number[]; cumulativeLr: number }> {
    const name = `resume${modelCount++}`;
    const make = (tag: string) => {
      const w = tf.variable(tf.tensor2d(normals(24, 3), [6, 4]), true, `${name}${tag}/kernel`);
      const opt = new QuantOptimizer({
        base: tf.train.adam(0.05),
        prox: new ProxPARQ({ annealStart: 0, annealEnd: 8 }),
        bits: 2,
        quantPeriod: 3,
        quantShrink,
        lrSchedule: { kind: 'cosine', lr: 0.05, totalSteps: steps },
      });
      return { w, opt };
    };
    const target = tf.tensor2d(normals(24, 4), [6, 4]);
    let { w, opt } = make('a');
    for (let s = 0; s < steps; s++) {
      if (s === resumeAt) {
        const saved = await opt.getWeights();
        const values = saved.map((nt) => ({ name: nt.name, tensor: tf.clone(nt.tensor) }));
        const wValue = tf.clone(w);
        const fresh = make('b');
        fresh.w.assign(wValue);
        // a step or two is needed before restore? no: setWeights works before the first step
        await fresh.opt.setWeights(values);
        opt.dispose();
        w.dispose();
        ({ w, opt } = fresh);
      }
      opt.minimize(() => tf.sum(tf.square(tf.sub(w, target))));
    }
    const out = {
      w: Array.from(w.dataSync()),
      latent: Array.from(opt.getLatent(w)!.dataSync()),
      cumulativeLr: opt.cumulativeLr,
    };
    opt.dispose();
    tf.dispose([w, target]);
    return out;
  }

  it('getWeights/setWeights resume exactly (8 steps = 4 + restore + 4)', async () => {
    const straight = await run(8);
    const resumed = await run(8, 4);
    expect(resumed.w).toEqual(straight.w);
    expect(resumed.latent).toEqual(straight.latent);
    expect(resumed.cumulativeLr).toBe(straight.cumulativeLr);
  });

  it('keeps the cumulative lr (quantShrink divides by it) bit for bit through several restores', async () => {
    // A float32 pair keeps 48 of its 53 bits: restored from one, the sum drifts in its last
    // bits and the next checkpoint differs from the uninterrupted run's.
    const straight = await run(30, undefined, true);
    for (const at of [7, 13, 22]) {
      const resumed = await run(30, at, true);
      expect(resumed.cumulativeLr).toBe(straight.cumulativeLr);
      expect(resumed.w).toEqual(straight.w);
    }
    expect(straight.cumulativeLr).not.toBe(
      Math.fround(straight.cumulativeLr) +
        Math.fround(straight.cumulativeLr - Math.fround(straight.cumulativeLr)),
    );
  });

  it('restores a checkpoint written before the exact state64 words (float32 state only)', async () => {
    const make = () =>
      new QuantOptimizer({
        base: tf.train.sgd(0.1),
        prox: new ProxPARQ({ annealStart: 0, annealEnd: 8 }),
        bits: 1,
      });
    const w = tf.variable(tf.tensor1d([1, -1, 0.5, -0.5]), true, `old${modelCount++}/kernel`);
    const opt = make();
    for (let s = 0; s < 3; s++) opt.minimize(() => tf.sum(tf.square(w)));
    const all = await opt.getWeights();
    // state64 must say what state says (a state64 of other values is refused).
    const other = all.map((nt) =>
      nt.name === 'parq/state64'
        ? { name: nt.name, tensor: tf.tensor1d(float64Words([3, 0.5, 0, 1]), 'int32') }
        : nt,
    );
    await expect(make().setWeights(other)).rejects.toThrow(/'parq\/state64' must hold/);
    const saved = all.filter((nt) => nt.name !== 'parq/state64');
    const fresh = make();
    await fresh.setWeights(saved);
    expect(fresh.step).toBe(3);
    const hi = Math.fround(opt.cumulativeLr);
    expect(fresh.cumulativeLr).toBe(hi + Math.fround(opt.cumulativeLr - hi));
    opt.dispose();
    fresh.dispose();
    w.dispose();
  });

  it('serializes with model.save({includeOptimizer: true}) and loads back', async () => {
    const model = smallModel();
    const opt = new QuantOptimizer({
      base: tf.train.momentum(0.05, 0.9),
      prox: new ProxPARQ({ annealStart: 0, annealEnd: 20 }),
      quantizer: new LSBQuantizer({ optimal: true }),
      bits: 2,
      groups: [{ match: '*/kernel', bits: 2, granularity: { kind: 'channel' } }],
    });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const { x, y } = data(64);
    await model.fit(x, y, { batchSize: 32, epochs: 1, verbose: 0 });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
      { includeOptimizer: true },
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const lopt = loaded.optimizer as QuantOptimizer;
    expect(lopt).toBeInstanceOf(QuantOptimizer);
    expect(lopt.step).toBe(2);
    expect(lopt.quantizer.getConfig()).toEqual(opt.quantizer.getConfig());
    expect((lopt.prox as ProxPARQ).annealEnd).toBe(20);
    expect(lopt.groups[0].granularity).toEqual({ kind: 'channel' });
    await loaded.fit(x, y, { batchSize: 32, epochs: 1, verbose: 0 });
    expect(lopt.step).toBe(4);
    // the restored latent weights are the ones saved, not the quantized model weights
    expect(lopt.quantizedEntries.length).toBe(2);
  });
});

describe('QuantOptimizer levels-only refresh', () => {
  it('asks for q only where the map uses it, and trains the same weights bit for bit', () => {
    // PARQ needs q only once hard; BinaryRelax from annealStart on; SoftQuant once hard
    const parq = new ProxPARQ({ annealStart: 2, annealEnd: 6 });
    expect([0, 3, 5, 6, 9].map((s) => parq.usesQuantized(s))).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
    const relax = new ProxBinaryRelax({ annealStart: 2, annealEnd: 6 });
    expect([0, 2, 7].map((s) => relax.usesQuantized(s))).toEqual([false, true, true]);
    expect(new ProxHardQuant().usesQuantized(0)).toBe(true);
    // a map that always asks for q: the optimizer must end on the same weights
    class AlwaysQ extends ProxPARQ {
      override usesQuantized(): boolean {
        return true;
      }
    }
    const run = (prox: ProxPARQ) => {
      const w = tf.variable(tf.tensor2d(normals(64 * 8, 5, 0.1), [64, 8]), true, 'lvl/kernel');
      const opt = new QuantOptimizer({
        base: tf.train.momentum(0.05, 0.9),
        quantizer: new LSBQuantizer(),
        prox,
        bits: 2,
        quantPeriod: 3,
      });
      for (let s = 0; s < 12; s++) {
        opt.applyGradients({ [w.name]: tf.tidy(() => tf.sin(tf.mul(w, 7 + s))) });
      }
      const out = { w: Array.from(w.dataSync()), latent: Array.from(opt.getLatent(w)!.dataSync()) };
      opt.dispose();
      w.dispose();
      return out;
    };
    const opts = { annealStart: 1, annealEnd: 8 };
    expect(run(new ProxPARQ(opts))).toEqual(run(new AlwaysQ(opts)));
  });
});

describe('QuantOptimizer variants', () => {
  it('NM-SGD adds -(lr / nmGamma) * (latent - mapped) after the base step', () => {
    const w = tf.variable(tf.tensor1d([1, -1, 0.5, -0.5]), true, 'nm/kernel');
    const opt = new QuantOptimizer({
      base: tf.train.sgd(0.1),
      bits: 1,
      quantPeriod: 1,
      nmGamma: 2,
    });
    const zero = () => ({ [w.name]: tf.zerosLike(w) });
    opt.applyGradients(zero());
    expect(Array.from(w.dataSync())).toEqual([0.75, -0.75, 0.75, -0.75]);
    opt.applyGradients(zero());
    // correction = latent - mapped = [0.25, -0.25, -0.25, 0.25]; latent += -(0.1 / 2) * correction
    const latent = Array.from(opt.getLatent(w)!.dataSync());
    [0.9875, -0.9875, 0.5125, -0.5125].forEach((v, i) => expect(latent[i]).toBeCloseTo(v, 6));
    opt.dispose();
    w.dispose();
  });

  it('annealWdFrac scales the decay of quantized groups by the inverse slope of the last step', () => {
    const w = tf.variable(tf.tensor1d([0.4, -0.3, 0.2, -0.1]), true, 'wdanneal/kernel');
    const prox = new ProxPARQ({ annealStart: 0, annealEnd: 8 });
    const opt = new QuantOptimizer({
      base: tf.train.sgd(1),
      prox,
      groups: [{ match: 'wdanneal/*', bits: 2, weightDecay: 0.1 }],
      annealWdFrac: 1,
    });
    const latents: number[] = [];
    for (let s = 0; s < 4; s++) {
      opt.applyGradients({ [w.name]: tf.zerosLike(w) });
      latents.push(opt.getLatent(w)!.dataSync()[0]);
    }
    // step s decays by 1 - lr * wd * inverseSlope(s - 1) (1 at the first step)
    expect(latents[0]).toBeCloseTo(0.4 * 0.9, 6);
    for (let s = 1; s < 4; s++) {
      const scale = prox.inverseSlope(s - 1);
      expect(latents[s] / latents[s - 1]).toBeCloseTo(1 - 0.1 * scale, 5);
    }
    expect(prox.inverseSlope(2)).toBeLessThan(1);
    opt.dispose();
    w.dispose();
  });
});
