// trainRun in-process (the path the browser playground and the benchmarks take).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FusedBaseOptimizer } from '../../src/optim/fused-base.js';
import { FUSED_STEP_KERNEL } from '../../src/optim/fused-step.js';
import { scheduledLearningRate } from '../../src/optim/learning-rate.js';
import {
  baseOptimizerForConfig,
  ConfigError,
  disposeOptimizer,
  restoreOptimizer,
  resolveTrainConfig,
  trainRun,
  withoutTiming,
  type CheckpointData,
  type TrainConfig,
} from '../../src/train/index.js';
import { countKernel, useBackend } from '../helpers.js';
import { blobs } from './fixtures.js';

beforeAll(() => useBackend('wasm'));

const data = blobs();
/** 12 steps an epoch. */
const tiny = (over: Partial<TrainConfig> = {}): TrainConfig =>
  resolveTrainConfig({ data: 'blobs', hidden: [16], batchSize: 16, lr: 0.1, epochs: 3, ...over });

async function weightsOf(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

/**
 * Runs `config` on from the checkpoint `saved` and expects the weights and metrics (timing
 * aside) of `whole`, the same run in one go. Returns the resumed run (the caller disposes it).
 */
async function expectResumedAsWhole(
  config: TrainConfig,
  saved: CheckpointData,
  whole: Awaited<ReturnType<typeof trainRun>>,
) {
  const model = await tf.loadLayersModel(tf.io.fromMemory(saved.model));
  const rest = await trainRun(config, {
    dataset: data,
    model,
    resume: { state: saved.state, optimizerData: saved.optimizerData },
  });
  expect(await weightsOf(rest.model)).toEqual(await weightsOf(whole.model));
  expect(withoutTiming(rest.metrics)).toEqual(withoutTiming(whole.metrics));
  return rest;
}

describe('trainRun', () => {
  it('trains PARQ to at most 2^bits values per tensor, with records, histograms, schedule and callbacks', async () => {
    const calls: string[] = [];
    let batches = 0;
    let lastLoss: number | undefined;
    const { metrics, model, optimizer } = await trainRun(tiny(), {
      dataset: data,
      callbacks: {
        onStart: (m) => void calls.push(`start ${m.epochsDone}`),
        onEpochStart: (e, n, b) => void calls.push(`epoch ${e}/${n} ${b}`),
        onBatchEnd: (p) => {
          batches++;
          if (p.batch === p.batches) lastLoss = p.loss;
        },
        onEpochEnd: (r) => void calls.push(`end ${r.epoch}`),
      },
    });
    expect(calls).toEqual([
      'start 0',
      'epoch 1/3 12',
      'end 1',
      'epoch 2/3 12',
      'end 2',
      'epoch 3/3 12',
      'end 3',
    ]);
    expect(batches).toBe(36);
    expect(lastLoss).toBeCloseTo(metrics.epochs[2].loss, 6);
    expect(metrics.status).toBe('complete');
    expect(metrics.totalSteps).toBe(36);
    expect(metrics.epochs.map((e) => e.step)).toEqual([12, 24, 36]);
    expect(metrics.final?.testAccuracy).toBeGreaterThan(0.7);
    expect(metrics.final?.testAccuracy).toBe(metrics.epochs[2].testAccuracy);
    expect(metrics.quantized.map((q) => [q.name, q.groups, q.maxLevels])).toEqual([
      ['fc1/kernel', 1, 4],
      ['logits/kernel', 1, 4],
    ]);
    for (const q of metrics.quantized) {
      expect(q.distinct).toBeLessThanOrEqual(4);
      expect(q.levels?.[0]).toHaveLength(4);
    }
    // The model really holds those values.
    const kernel = await model.getLayer('fc1').getWeights()[0].data();
    expect(new Set(kernel).size).toBe(metrics.quantized[0].distinct);
    // Inverse slope anneals from 1 to 0; histograms at epochs 0..3 with levels.
    const inv = metrics.schedule?.values ?? [];
    expect(inv[0]).toBe(1);
    expect(inv[inv.length - 1]).toBe(0);
    expect(inv.every((v, i) => i === 0 || v <= inv[i - 1])).toBe(true);
    expect(metrics.histograms.map((h) => h.epoch)).toEqual([0, 1, 2, 3]);
    const last = metrics.histograms[3].tensors[0];
    expect(last.distinct).toBeLessThanOrEqual(4);
    expect(last.weights.counts.reduce((a, b) => a + b, 0)).toBe(8 * 16);
    expect(last.latent?.counts.reduce((a, b) => a + b, 0)).toBe(8 * 16);
    expect(last.levels?.[0]).toEqual(metrics.quantized[0].levels?.[0]);
    disposeOptimizer(optimizer);
    model.dispose();
  });

  it('is deterministic: same config, same metrics; another seed, other metrics', async () => {
    const run = async (seed: number) => {
      const r = await trainRun(tiny({ seed, epochs: 2 }), { dataset: data });
      disposeOptimizer(r.optimizer);
      r.model.dispose();
      return withoutTiming(r.metrics);
    };
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    const c = await run(4);
    expect(c.epochs[0].loss).not.toBe(a.epochs[0].loss);
  });

  it('continues exactly from an in-memory checkpoint (the browser path)', async () => {
    const config = tiny({ epochs: 4, method: 'binaryrelax' });
    const whole = await trainRun(config, { dataset: data });
    let ckpt: CheckpointData | undefined;
    const first = await trainRun(config, {
      dataset: data,
      stopAfter: 2,
      callbacks: { onEpochEnd: async (_r, ctx) => void (ckpt = await ctx.checkpoint()) },
    });
    expect(first.metrics.status).toBe('stopped');
    disposeOptimizer(first.optimizer);
    first.model.dispose();
    const saved = ckpt as CheckpointData;
    expect(saved.state).toMatchObject({ epoch: 2, step: 24, dataOrder: { seed: 0, nextEpoch: 2 } });
    const rest = await expectResumedAsWhole(config, saved, whole);
    expect(rest.metrics.timing.segments).toHaveLength(2);
    for (const r of [whole, rest]) {
      disposeOptimizer(r.optimizer);
      r.model.dispose();
    }
  });

  it('stops between steps on abort, keeps the completed epochs, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const r = await trainRun(tiny({ epochs: 5 }), {
      dataset: data,
      signal: controller.signal,
      callbacks: { onBatchEnd: (p) => void (p.epoch === 2 && p.batch === 5 && controller.abort()) },
    });
    expect(r.metrics.status).toBe('interrupted');
    expect(r.metrics.epochsDone).toBe(1);
    expect(r.metrics.epochs).toHaveLength(1);
    disposeOptimizer(r.optimizer);
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('lets a timer or signal in during a run of epochs shorter than the yield interval', async () => {
    // Each tiny epoch takes well under 100 ms: an abort from a timer (as a SIGINT handler
    // is run) must still land, not wait for the last epoch.
    const controller = new AbortController();
    let epochs = 0;
    const timer = setTimeout(() => controller.abort(), 0);
    const r = await trainRun(tiny({ epochs: 2000 }), {
      dataset: data,
      signal: controller.signal,
      callbacks: { onEpochEnd: () => void epochs++ },
    });
    clearTimeout(timer);
    expect(r.metrics.status).toBe('interrupted');
    expect(epochs).toBeLessThan(2000);
    disposeOptimizer(r.optimizer);
    r.model.dispose();
  });

  it('groups per channel: each output channel holds at most 2^bits values', async () => {
    const r = await trainRun(
      tiny({ granularity: { kind: 'channel' }, bits: 1, method: 'ste', epochs: 2 }),
      {
        dataset: data,
      },
    );
    const [fc1, logits] = r.metrics.quantized;
    expect([fc1.groups, logits.groups]).toEqual([16, 3]);
    expect(fc1.maxDistinctPerGroup).toBeLessThanOrEqual(2);
    expect(fc1.distinct).toBeGreaterThan(2);
    expect(r.metrics.schedule).toBeUndefined(); // STE has no annealing
    disposeOptimizer(r.optimizer);
    r.model.dispose();
  });

  it('trains fp with the learning-rate schedule applied per step, and no quantized tensors', async () => {
    const config = tiny({ method: 'fp', lrSchedule: 'step', lrStepEpochs: 1 });
    const r = await trainRun(config, { dataset: data });
    expect(r.metrics.quantized).toEqual([]);
    expect(r.metrics.schedule).toBeUndefined();
    expect(r.metrics.epochs.map((e) => e.lr)).toEqual(
      [11, 23, 35].map((s) =>
        scheduledLearningRate({ kind: 'step', lr: 0.1, stepSize: 12, gamma: 0.1 }, s),
      ),
    );
    expect(r.metrics.histograms[0].tensors[0].levels).toBeUndefined();
    disposeOptimizer(r.optimizer);
    r.model.dispose();
  });

  it('trains fp through FusedBaseOptimizer (one kernel a variable), its checkpoints name the base', async () => {
    const config = tiny({ method: 'fp', epochs: 4 });
    const whole = await trainRun(config, { dataset: data });
    expect(whole.optimizer.getClassName()).toBe(FusedBaseOptimizer.className);
    let ckpt: CheckpointData | undefined;
    const { result: first, calls } = await countKernel(FUSED_STEP_KERNEL, () =>
      trainRun(config, {
        dataset: data,
        stopAfter: 2,
        callbacks: { onEpochEnd: async (_r, ctx) => void (ckpt = await ctx.checkpoint()) },
      }),
    );
    expect(calls).toBe(2 * 12 * 4); // 2 epochs of 12 steps, 4 variables (2 kernels, 2 biases)
    disposeOptimizer(first.optimizer);
    first.model.dispose();
    const saved = ckpt as CheckpointData;
    // the state is the base's own, named by the base's class: a checkpoint of an fp run before
    // the fusion (the base itself) reads the same
    const base = baseOptimizerForConfig(config);
    expect(saved.state.optimizer.className).toBe(base.getClassName());
    await restoreOptimizer(base, saved.state, saved.optimizerData);
    expect((await base.getWeights()).map((w) => w.name)).toEqual(
      saved.state.optimizer.specs.map((s) => s.name),
    );
    disposeOptimizer(base);
    const rest = await expectResumedAsWhole(config, saved, whole);
    for (const r of [whole, rest]) {
      disposeOptimizer(r.optimizer);
      r.model.dispose();
    }
  });

  it('refuses a model that does not fit the data, and disposes what it built', async () => {
    const before = tf.memory().numTensors;
    const wide = blobs(32, 8, 5);
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [8], units: 3, activation: 'softmax' })],
    });
    await expect(trainRun(tiny(), { dataset: wide, model })).rejects.toThrow(
      /takes inputs of shape \[8\], dataset 'blobs' has samples of shape \[5\]/,
    );
    model.dispose();
    await expect(
      trainRun(tiny({ granularity: { kind: 'block', blockSize: 5 } }), { dataset: data }),
    ).rejects.toThrow(/not divisible by blockSize 5/);
    expect(tf.memory().numTensors).toBe(before);
    await expect(trainRun({ ...tiny(), epochs: 0 }, { dataset: data })).rejects.toThrow(
      ConfigError,
    );
  });
});
