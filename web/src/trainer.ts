/**
 * One playground training run: src/train's `trainRun` on the run's `TrainConfig`, the loop
 * `parq train` runs. Its per-step hooks give the live views the model and optimizer between
 * steps; every ~40 ms the run yields to the browser.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset, Split } from '../../src/data/types.js';
import { scheduledLearningRate } from '../../src/optim/learning-rate.js';
import { qatInspection, type QatInspection } from '../../src/optim/inspection.js';
import {
  checkModelFits,
  disposeOptimizer,
  lrScheduleForConfig,
  modelForConfig,
} from '../../src/train/build.js';
import { stepsPerEpoch, type TrainConfig } from '../../src/train/config.js';
import { checkDataset, limitDataset } from '../../src/train/data.js';
import { evaluateModel } from '../../src/train/evaluate.js';
import { trainRun } from '../../src/train/run.js';

export interface StepInfo {
  step: number;
  totalSteps: number;
  /** Running mean loss and accuracy (%) of the epoch so far (trainRun's, every ~40 ms). */
  loss: number;
  acc: number;
  lr: number;
}

export interface TrainHooks {
  /** Training loss and accuracy: the epoch's running means, refreshed every ~40 ms. */
  onProgress?(info: StepInfo): void;
  /** Test accuracy (%) after `step` steps. */
  onEval?(step: number, testAcc: number): void;
  /** Called when the loop yields to the browser (redraw views here). */
  onYield?(): Promise<void> | void;
  shouldStop?(): boolean;
}

const YIELD_MS = 40;

/** Lets the browser run (render, handle input) without setTimeout's background throttling. */
export function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/** Predicted classes of a split, in batches (argmax of the model's output). */
export async function predictClasses(
  model: tf.LayersModel,
  split: Split,
  batch = 500,
): Promise<Int32Array> {
  const shape = model.inputs[0].shape.slice(1) as number[];
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Int32Array(split.n);
  for (let start = 0; start < split.n; start += batch) {
    const b = Math.min(batch, split.n - start);
    const pred = tf.tidy(() => {
      const x = tf.tensor(split.x.subarray(start * size, (start + b) * size), [b, ...shape]);
      return tf.argMax(model.predict(x) as tf.Tensor, -1);
    });
    out.set(await pred.data(), start);
    pred.dispose();
  }
  return out;
}

/** Test accuracy (%) of a model, as `parq train` / `parq eval` compute it. */
export async function testAccuracy(model: tf.LayersModel, data: Dataset): Promise<number> {
  const r = await evaluateModel(model, data.test, data.inputShape);
  return 100 * r.accuracy;
}

export class TrainingRun {
  readonly data: Dataset;
  readonly model: tf.LayersModel;
  /** The run's optimizer, built by `trainRun` (null until training starts). */
  optimizer: tf.Optimizer | null = null;
  /** The QAT optimizer, read through its inspection interface (null for fp, and until training starts). */
  qat: QatInspection | null = null;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  step = 0;
  stopped = false;
  finalTestAcc: number | null = null;
  seconds = 0;

  /** Builds the run's model; throws a one-line error naming the problem (nothing to dispose then). */
  constructor(
    readonly config: TrainConfig,
    data: Dataset,
  ) {
    this.data = limitDataset(data, config.limitTrain, config.limitTest);
    checkDataset(this.data);
    this.stepsPerEpoch = stepsPerEpoch(this.data.train.n, config.batchSize);
    this.totalSteps = this.stepsPerEpoch * config.epochs;
    this.model = modelForConfig(config, this.data);
    checkModelFits(this.model, this.data);
  }

  /**
   * Trains to the end (or until `shouldStop`) with src/train's `trainRun`, the loop `parq
   * train` runs; tests at the start, four times an epoch and at the end (`finalTestAcc`).
   */
  async train(hooks: TrainHooks = {}): Promise<void> {
    const { config, data, model } = this;
    const stop = new AbortController();
    const t0 = performance.now();
    let lastYield = t0;
    const evaluate = async () => {
      this.finalTestAcc = await testAccuracy(model, data);
      hooks.onEval?.(this.step, this.finalTestAcc);
    };
    let evaluatedAt = -1;
    const schedule = lrScheduleForConfig(config, this.totalSteps, this.stepsPerEpoch);
    let lr = scheduledLearningRate(schedule, 0);
    const result = await trainRun(config, {
      dataset: data,
      model,
      signal: stop.signal,
      evalEverySteps: Math.max(1, Math.ceil(this.stepsPerEpoch / 4)),
      liveEveryMs: YIELD_MS,
      callbacks: {
        onStart: async (_metrics, ctx) => {
          this.optimizer = ctx.optimizer;
          this.qat = qatInspection(ctx.optimizer);
          await evaluate();
          evaluatedAt = 0;
        },
        onBatchEnd: (p) => {
          if (p.loss === undefined || p.accuracy === undefined) return;
          hooks.onProgress?.({
            step: this.step,
            totalSteps: this.totalSteps,
            loss: p.loss,
            acc: 100 * p.accuracy,
            lr,
          });
        },
        onStep: async (ctx) => {
          this.step = ctx.step;
          lr = scheduledLearningRate(schedule, ctx.step - 1);
          if (hooks.shouldStop?.()) stop.abort();
          if (performance.now() - lastYield > YIELD_MS) {
            await hooks.onYield?.();
            await yieldToBrowser();
            lastYield = performance.now();
          }
        },
        onEval: (ctx, test) => {
          this.finalTestAcc = 100 * test.accuracy;
          evaluatedAt = ctx.step;
          hooks.onEval?.(ctx.step, this.finalTestAcc);
        },
      },
    });
    this.stopped = result.metrics.status !== 'complete';
    this.seconds = (performance.now() - t0) / 1000;
    const final = result.metrics.final;
    if (final && !this.stopped) {
      this.finalTestAcc = 100 * final.testAccuracy;
      if (evaluatedAt !== this.step) hooks.onEval?.(this.step, this.finalTestAcc);
    } else if (evaluatedAt !== this.step) {
      await evaluate();
    }
    await hooks.onYield?.();
  }

  dispose(): void {
    this.model.dispose();
    if (this.optimizer) disposeOptimizer(this.optimizer);
  }
}
