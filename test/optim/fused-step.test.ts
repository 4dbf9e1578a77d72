/**
 * The fused QAT step (src/optim/fused-step.ts): a quantized variable's base update and prox
 * map in one kernel give the same bits as the base optimizer's own step and the map composed
 * (`fuseBaseStep: false`), for every map, granularity, update kind and backend it runs on,
 * across slabs (a variable larger than one), refreshes of Q and the maps' phases; it runs
 * where it should and nowhere else, and leaks nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMMQOptimizer,
  FusedBaseOptimizer,
  LSBQuantizer,
  ProxBinaryRelax,
  ProxHardQuant,
  ProxMap,
  ProxPARQ,
  ProxSoftQuant,
  QuantOptimizer,
  UnifQuantizer,
  applyProxMode,
} from '../../src/index.js';
import type { Granularity } from '../../src/quant/grouping.js';
import { FUSED_STEP_KERNEL, fusedStepRuns } from '../../src/optim/fused-step.js';
import { simdStats } from '../../src/prox/simd/index.js';
import { countKernel, normals, useBackend } from '../helpers.js';
import { setLearningRate } from '../../src/optim/learning-rate.js';

/** A map of one's own: no kernel mode, so the fused step runs the update alone. */
class HalfwayMap extends ProxMap {
  readonly className = 'HalfwayMap';
  apply(p: tf.Tensor3D, _q: tf.Tensor3D | null, Q: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => tf.mul(tf.add(p, applyProxMode(p, Q, 'hard')), 0.5) as tf.Tensor3D);
  }
}

const PROXES: Record<string, () => ProxMap> = {
  parq: () => new ProxPARQ({ annealStart: 3, annealEnd: 9 }),
  binaryrelax: () => new ProxBinaryRelax({ annealStart: 3, annealEnd: 9 }),
  ste: () => new ProxHardQuant(),
  soft: () => new ProxSoftQuant({ annealStart: 3, annealEnd: 9 }),
  own: () => new HalfwayMap(),
};

const GRANULARITIES: Record<string, Granularity> = {
  tensor: { kind: 'tensor' },
  channel: { kind: 'channel' },
  block: { kind: 'block', blockSize: 10 },
};

/** tfjs's Momentum as a subclass: not the class the fused step knows, so it steps on its own. */
class MyMomentum extends tf.MomentumOptimizer {}

type Kind = 'momentum' | 'nesterov' | 'sgd' | 'adam' | 'rmsprop' | 'subclass';
const BASES: Record<Kind, () => tf.Optimizer> = {
  momentum: () => tf.train.momentum(0.05, 0.9),
  nesterov: () => tf.train.momentum(0.05, 0.9, true),
  sgd: () => tf.train.sgd(0.05),
  adam: () => tf.train.adam(0.01),
  rmsprop: () => tf.train.rmsprop(0.01),
  subclass: () => new MyMomentum(0.05, 0.9),
};

interface Case {
  /** ADMM-Q (its variant) instead of QuantOptimizer */
  admm?: 'hard' | 'soft' | 'random';
  kind?: Kind;
  prox?: string;
  granularity?: string;
  bits?: number;
  fuse: boolean;
  steps?: number;
  extra?: Partial<ConstructorParameters<typeof QuantOptimizer>[0]>;
  weightDecay?: number;
}

/** Counts the fused kernel's calls while `f` runs. */
const countFused = <T>(f: () => Promise<T>) => countKernel(FUSED_STEP_KERNEL, f);

/**
 * Trains a two-layer net (w1 [150, 130]: 19,500 weights, more than one slab per tensor and
 * per channel; w2 [130, 5]; bias b, not quantized) and returns every value it ends with.
 */
async function train(c: Case) {
  const w1 = tf.variable(tf.tensor2d(normals(150 * 130, 1, 0.1), [150, 130]), true, undefined);
  const w2 = tf.variable(tf.tensor2d(normals(130 * 5, 2, 0.3), [130, 5]));
  const b = tf.variable(tf.zeros([5]));
  const x = tf.tensor2d(normals(8 * 150, 3), [8, 150]);
  const y = tf.tensor2d(normals(8 * 5, 4), [8, 5]);
  const common = {
    base: BASES[c.kind ?? 'momentum'](),
    quantizer: c.bits === 4 ? new UnifQuantizer() : new LSBQuantizer(),
    groups: [
      {
        variables: [w1, w2],
        bits: c.bits ?? 2,
        granularity: GRANULARITIES[c.granularity ?? 'tensor'],
        weightDecay: c.weightDecay,
      },
    ],
    warmupSteps: 1,
    fuseBaseStep: c.fuse,
  };
  const opt = c.admm
    ? new ADMMQOptimizer({
        ...common,
        rho: 0.05,
        projectEvery: 3,
        variant: c.admm,
        ...(c.admm === 'soft' ? { beta: 0.01 } : {}),
        ...(c.admm === 'random' ? { probability: 0.5 } : {}),
      })
    : new QuantOptimizer({
        ...common,
        prox: PROXES[c.prox ?? 'parq'](),
        quantPeriod: 4,
        ...c.extra,
      });
  const loss = () =>
    tf.tidy(() =>
      tf.losses.meanSquaredError(y, tf.add(tf.matMul(tf.relu(tf.matMul(x, w1)), w2), b)),
    ) as tf.Scalar;
  const { calls } = await countFused(async () => {
    for (let i = 0; i < (c.steps ?? 12); i++) opt.minimize(loss, false, [w1, w2, b]);
  });
  const values = [w1, w2, b].map((v) => Array.from(v.dataSync()));
  const state = await opt.getWeights();
  const stateValues = state.map((s) => [s.name, Array.from(s.tensor.dataSync())] as const);
  tf.dispose([w1, w2, b, x, y]);
  opt.dispose();
  return { values, stateValues, calls };
}

/** Bit-for-bit equality of the values two runs end with (NaN equals NaN). */
function expectSameBits(
  a: Awaited<ReturnType<typeof train>>,
  b: Awaited<ReturnType<typeof train>>,
) {
  const bits = (xs: number[]) => Array.from(new Uint32Array(new Float32Array(xs).buffer));
  expect(a.values.map(bits)).toEqual(b.values.map(bits));
  // (names hold the variables' own ids, which differ between the two runs)
  expect(a.stateValues.map(([, v]) => bits(v))).toEqual(b.stateValues.map(([, v]) => bits(v)));
  expect(a.stateValues.length).toBeGreaterThan(0);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`the fused QAT step on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('wasm'));

    const cases: [string, Case][] = [];
    for (const prox of Object.keys(PROXES))
      for (const granularity of Object.keys(GRANULARITIES))
        cases.push([`momentum, ${prox}, per ${granularity}`, { prox, granularity, fuse: true }]);
    for (const kind of ['nesterov', 'sgd', 'adam'] as const)
      for (const granularity of ['tensor', 'channel'])
        cases.push([`${kind}, parq, per ${granularity}`, { kind, granularity, fuse: true }]);
    for (const granularity of ['tensor', 'channel'])
      cases.push([
        `4 bits (16 levels), parq, per ${granularity}`,
        { bits: 4, granularity, fuse: true },
      ]);
    for (const admm of ['hard', 'soft', 'random'] as const)
      cases.push([
        `ADMM-Q (${admm}), momentum, per channel`,
        { admm, granularity: 'channel', fuse: true },
      ]);
    for (const kind of ['adam', 'sgd', 'nesterov'] as const)
      cases.push([`ADMM-Q, ${kind}, per tensor`, { admm: 'hard', kind, fuse: true }]);
    cases.push([
      'cosine learning rate and weight decay',
      {
        fuse: true,
        weightDecay: 0.01,
        extra: { lrSchedule: { kind: 'cosine', lr: 0.05, totalSteps: 12 } },
      },
    ]);

    it('runs here', () => expect(fusedStepRuns()).toBe(true));

    it.each(cases)('%s: the same bits as the base step and the map composed', async (_, c) => {
      const before = simdStats.groups + simdStats.lanes;
      const fused = await train(c);
      const simdMaps = simdStats.groups + simdStats.lanes - before;
      const composed = await train({ ...c, fuse: false });
      expectSameBits(fused, composed);
      // one kernel a variable a QAT step (11 steps after the warmup; w1, w2 and the bias)
      expect(fused.calls).toBe(33);
      expect(composed.calls).toBe(0);
      // on wasm, two-bit maps that are kernel modes ran on the SIMD module with the update
      const kernelMap = !c.admm && c.prox !== 'soft' && c.prox !== 'own' && c.bits !== 4;
      if (backend === 'wasm' && kernelMap) expect(simdMaps).toBeGreaterThan(0);
    });

    it.each([
      ['RMSProp (not a base the kernel knows)', { kind: 'rmsprop' as const }],
      ['a subclass of tfjs Momentum', { kind: 'subclass' as const }],
      ['ADMM-Q with weight decay', { admm: 'hard' as const, weightDecay: 0.01 }],
      ['NM-SGD', { extra: { nmGamma: 10 } }],
      ['quantShrink', { extra: { quantShrink: true } }],
    ])('%s: steps as before, without the fused kernel', async (_, c) => {
      const fused = await train({ ...c, fuse: true });
      const composed = await train({ ...c, fuse: false });
      expect(fused.calls).toBe(0);
      expectSameBits(fused, composed);
    });
  });
}

describe('the fused QAT step, memory and configuration', () => {
  beforeAll(() => useBackend('wasm'));

  it.each([
    ['QuantOptimizer, momentum', 'momentum' as const, false],
    ['QuantOptimizer, Adam', 'adam' as const, false],
    ['ADMM-Q, Adam', 'adam' as const, true],
  ])('%s: leaks no tensor, data id or wasm heap from step to step', async (_, kind, admm) => {
    const w = tf.variable(tf.tensor2d(normals(150 * 130, 5, 0.1), [150, 130]));
    const x = tf.tensor2d(normals(8 * 150, 6), [8, 150]);
    const groups = [{ variables: [w], bits: 2 }];
    const opt = admm
      ? new ADMMQOptimizer({ base: BASES[kind](), groups, rho: 0.01, projectEvery: 3 })
      : new QuantOptimizer({
          base: BASES[kind](),
          prox: new ProxPARQ({ annealStart: 0, annealEnd: 20 }),
          groups,
          quantPeriod: 3,
        });
    const loss = () => tf.tidy(() => tf.mean(tf.square(tf.matMul(x, w))) as tf.Scalar);
    const backend = tf.backend() as unknown as {
      numDataIds(): number;
      wasm: { HEAPU8: Uint8Array };
    };
    const { calls } = await countFused(async () => {
      for (let i = 0; i < 3; i++) opt.minimize(loss, false, [w]);
      const tensors = tf.memory().numTensors;
      const ids = backend.numDataIds();
      const heap = backend.wasm.HEAPU8.byteLength;
      for (let i = 0; i < 9; i++) opt.minimize(loss, false, [w]);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(backend.numDataIds()).toBe(ids);
      expect(backend.wasm.HEAPU8.byteLength).toBe(heap);
    });
    expect(calls).toBe(12);
    tf.dispose([w, x]);
    opt.dispose();
  });

  it('keeps fuseBaseStep in its config (default true)', () => {
    const on = new QuantOptimizer({ base: tf.train.sgd(0.1) });
    const off = new QuantOptimizer({ base: tf.train.sgd(0.1), fuseBaseStep: false });
    expect(on.fuseBaseStep).toBe(true);
    const revived = QuantOptimizer.fromConfig(QuantOptimizer, off.getConfig()) as QuantOptimizer;
    expect(revived.fuseBaseStep).toBe(false);
  });
});

/** The same net as `train`, plain: the base alone, or inside FusedBaseOptimizer. */
async function trainPlain(kind: Kind, fused: boolean) {
  const w1 = tf.variable(tf.tensor2d(normals(150 * 130, 1, 0.1), [150, 130]));
  const w2 = tf.variable(tf.tensor2d(normals(130 * 5, 2, 0.3), [130, 5]));
  const b = tf.variable(tf.zeros([5]));
  const x = tf.tensor2d(normals(8 * 150, 3), [8, 150]);
  const y = tf.tensor2d(normals(8 * 5, 4), [8, 5]);
  const base = BASES[kind]();
  const opt = fused ? new FusedBaseOptimizer(base) : base;
  const loss = () =>
    tf.tidy(() =>
      tf.losses.meanSquaredError(y, tf.add(tf.matMul(tf.relu(tf.matMul(x, w1)), w2), b)),
    ) as tf.Scalar;
  const { calls } = await countFused(async () => {
    for (let i = 0; i < 8; i++) {
      if (i === 4) setLearningRate(opt, 0.02);
      opt.minimize(loss, false, [w1, w2, b]);
    }
  });
  const values = [w1, w2, b].map((v) => Array.from(v.dataSync()));
  const state = await opt.getWeights();
  const stateValues = state.map((s) => [s.name, Array.from(s.tensor.dataSync())] as const);
  tf.dispose([w1, w2, b, x, y]);
  opt.dispose();
  return { values, stateValues: stateValues as (readonly [string, number[]])[], calls };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`FusedBaseOptimizer on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('wasm'));

    it.each(['momentum', 'nesterov', 'sgd', 'adam'] as const)(
      '%s: the same bits as the base alone, one kernel a variable a step',
      async (kind) => {
        const fused = await trainPlain(kind, true);
        const alone = await trainPlain(kind, false);
        expectSameBits(fused, alone);
        expect(fused.calls).toBe(8 * 3);
        expect(alone.calls).toBe(0);
      },
    );

    it('another base steps as it does alone', async () => {
      const fused = await trainPlain('rmsprop', true);
      const alone = await trainPlain('rmsprop', false);
      expect(fused.calls).toBe(0);
      expectSameBits(fused, alone);
    });
  });
}

describe('FusedBaseOptimizer, configuration', () => {
  it('serializes with its base and trains a model with fit', async () => {
    await useBackend('wasm');
    const opt = new FusedBaseOptimizer(tf.train.momentum(0.05, 0.9));
    const revived = FusedBaseOptimizer.fromConfig(
      FusedBaseOptimizer,
      opt.getConfig(),
    ) as FusedBaseOptimizer;
    expect(revived.base.getClassName()).toBe('Momentum');
    expect(revived.learningRate).toBe(0.05);
    revived.dispose();
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'softmax' })],
    });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(normals(32 * 4, 9), [32, 4]);
    const ys = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 32 }, (_, i) => i % 3),
        'int32',
      ),
      3,
    );
    const before = model.getWeights().map((t) => Array.from(t.dataSync()));
    const { calls } = await countFused(() =>
      model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 }),
    );
    expect(calls).toBe(2 * 2); // two batches, kernel and bias
    expect(model.getWeights().map((t) => Array.from(t.dataSync()))).not.toEqual(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});

describe('the fused QAT step, gradients as a list', () => {
  it('takes applyGradients([{ name, tensor }]) as minimize does a map: the same bits', async () => {
    await useBackend('wasm');
    const run = async (fuse: boolean) => {
      const w = tf.variable(tf.tensor2d(normals(150 * 130, 7, 0.1), [150, 130]));
      const b = tf.variable(tf.zeros([130]));
      const x = tf.tensor2d(normals(8 * 150, 8), [8, 150]);
      const opt = new QuantOptimizer({
        base: tf.train.adam(0.01),
        prox: new ProxPARQ({ annealStart: 0, annealEnd: 20 }),
        groups: [{ variables: [w], bits: 2 }],
        quantPeriod: 3,
        fuseBaseStep: fuse,
      });
      const { calls } = await countFused(async () => {
        for (let i = 0; i < 6; i++) {
          const { grads } = tf.variableGrads(
            () => tf.mean(tf.square(tf.add(tf.matMul(x, w), b))) as tf.Scalar,
            [w, b],
          );
          opt.applyGradients([
            { name: b.name, tensor: grads[b.name] },
            { name: w.name, tensor: grads[w.name] },
          ]);
          tf.dispose(grads);
        }
      });
      const values = [w, b].map((v) => Array.from(v.dataSync()));
      const state = await opt.getWeights();
      const stateValues = state.map((s) => [s.name, Array.from(s.tensor.dataSync())] as const);
      tf.dispose([w, b, x]);
      opt.dispose();
      return { values, stateValues: stateValues as (readonly [string, number[]])[], calls };
    };
    const fused = await run(true);
    const composed = await run(false);
    expectSameBits(fused, composed);
    expect(fused.calls).toBe(12);
    expect(composed.calls).toBe(0);
  });
});
