// trainRun's per-step hooks: the model and optimizer between steps, and evaluation every N steps.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  disposeOptimizer,
  resolveTrainConfig,
  trainRun,
  withoutTiming,
  type StepContext,
  type TrainConfig,
} from '../../src/train/index.js';
import { useBackend } from '../helpers.js';
import { blobs } from './fixtures.js';

beforeAll(() => useBackend('wasm'));

const data = blobs();
/** 12 steps an epoch, 24 in all. */
const tiny = (over: Partial<TrainConfig> = {}): TrainConfig =>
  resolveTrainConfig({ data: 'blobs', hidden: [16], batchSize: 16, lr: 0.1, epochs: 2, ...over });

describe('trainRun per-step hooks', () => {
  it('calls onStep after every step with the live model and optimizer, onEval every N steps', async () => {
    const steps: [number, number, number][] = [];
    const evals: [number, number][] = [];
    const lastLevels: number[] = [];
    let started: StepContext | undefined;
    const { metrics, model, optimizer } = await trainRun(tiny({ method: 'parq' }), {
      dataset: data,
      evalEverySteps: 5,
      callbacks: {
        onStart: (_m, ctx) => void (started = ctx),
        onStep: async (ctx) => {
          steps.push([ctx.step, ctx.epoch, ctx.batch]);
          expect(ctx.model.layers.length).toBeGreaterThan(0);
          // the optimizer between steps: its step count follows the loop's
          expect((ctx.optimizer as unknown as { step: number }).step).toBe(ctx.step);
          if (ctx.step === ctx.totalSteps) {
            const w = await ctx.model.getLayer('fc1').getWeights()[0].data();
            lastLevels.push(new Set(w).size);
          }
        },
        onEval: (ctx, test) => void evals.push([ctx.step, test.accuracy]),
      },
    });
    expect(started?.step).toBe(0);
    expect(started?.totalSteps).toBe(24);
    expect(steps).toHaveLength(24);
    expect(steps[0]).toEqual([1, 1, 1]);
    expect(steps[11]).toEqual([12, 1, 12]);
    expect(steps[12]).toEqual([13, 2, 1]);
    expect(steps[23]).toEqual([24, 2, 12]);
    expect(evals.map(([s]) => s)).toEqual([5, 10, 15, 20]);
    for (const [, acc] of evals) expect(acc).toBeGreaterThanOrEqual(0);
    expect(lastLevels[0]).toBeLessThanOrEqual(4);
    expect(metrics.status).toBe('complete');
    disposeOptimizer(optimizer);
    model.dispose();
  });

  it('leaves the run as it is: the same metrics with and without hooks, no tensor leaked', async () => {
    const plain = await trainRun(tiny(), { dataset: data });
    const a = withoutTiming(plain.metrics);
    disposeOptimizer(plain.optimizer);
    plain.model.dispose();
    const before = tf.memory().numTensors;
    const hooked = await trainRun(tiny(), {
      dataset: data,
      evalEverySteps: 3,
      callbacks: { onStep: () => undefined, onEval: () => undefined },
    });
    expect(withoutTiming(hooked.metrics)).toEqual(a);
    disposeOptimizer(hooked.optimizer);
    hooked.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a bad evalEverySteps before training', async () => {
    await expect(trainRun(tiny(), { dataset: data, evalEverySteps: 1.5 })).rejects.toThrow(
      /evalEverySteps must be an integer >= 0/,
    );
  });
});
