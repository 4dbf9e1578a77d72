/**
 * One playground training run, built by src/train from its `TrainConfig` (`modelForConfig`,
 * `optimizerForConfig`, `lossHead`, `limitDataset`, `evaluateModel`: what `parq train` uses)
 * and stepped as `trainRun` steps: `optimizer.minimize` of the loss head on the batches of
 * `batchOrder(seed, epoch)`. The loop is the playground's own only so that the live views can
 * read the optimizer between steps; between batches it yields to the browser every ~40 ms.
 */
import * as tf from '@tensorflow/tfjs';
import { batchOrder, gatherBatch } from '../../src/data/batches.js';
import type { Dataset, Split } from '../../src/data/types.js';
import { scheduledLearningRate, setLearningRate } from '../../src/optim/learning-rate.js';
import type { QatInspection } from '../../src/optim/inspection.js';
import {
  checkModelFits,
  lossHead,
  modelForConfig,
  optimizerForConfig,
  type LossHead,
} from '../../src/train/build.js';
import { stepsPerEpoch, type TrainConfig } from '../../src/train/config.js';
import { checkDataset, limitDataset } from '../../src/train/data.js';
import { evaluateModel } from '../../src/train/evaluate.js';

export interface StepInfo {
  step: number;
  totalSteps: number;
  /** Mean loss and accuracy (%) of the batches since the last report. */
  loss: number;
  acc: number;
  lr: number;
}

export interface TrainHooks {
  /** Training loss and accuracy, averaged over the batches since the last report (reported at
   * yields, over at least a full batch of samples). */
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
  readonly optimizer: tf.Optimizer;
  /** The QAT optimizer, read through its inspection interface (null for fp). */
  readonly qat: QatInspection | null;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private readonly head: LossHead;
  private readonly schedule;
  step = 0;
  stopped = false;
  finalTestAcc: number | null = null;
  seconds = 0;

  /** Builds the run; throws a one-line error naming the problem (nothing to dispose then). */
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
    const run = optimizerForConfig(config, this.totalSteps, this.stepsPerEpoch);
    this.optimizer = run.optimizer;
    this.schedule = run.schedule;
    this.qat = run.quant;
    this.head = lossHead(this.model);
  }

  /** Trains to the end (or until `shouldStop`); tests at the start, four times an epoch and
   * at the end (`finalTestAcc`). */
  async train(hooks: TrainHooks = {}): Promise<void> {
    const { config, data, model, optimizer } = this;
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const evalEvery = Math.max(1, Math.ceil(this.stepsPerEpoch / 4));
    const qat = this.qat;
    const t0 = performance.now();
    let lastYield = t0;
    let evaluatedAt = -1;
    const evaluate = async () => {
      const r = await evaluateModel(model, data.test, data.inputShape, { head: this.head });
      this.finalTestAcc = 100 * r.accuracy;
      evaluatedAt = this.step;
      hooks.onEval?.(this.step, this.finalTestAcc);
    };
    // loss and hits summed on the device, read at each yield
    let lossSum: tf.Scalar = tf.scalar(0);
    let hitSum: tf.Scalar = tf.scalar(0);
    let samples = 0;
    const report = async (lr: number) => {
      const [l, h] = await Promise.all([lossSum.data(), hitSum.data()]);
      tf.dispose([lossSum, hitSum]);
      lossSum = tf.scalar(0);
      hitSum = tf.scalar(0);
      const n = Math.max(samples, 1);
      samples = 0;
      hooks.onProgress?.({
        step: this.step,
        totalSteps: this.totalSteps,
        loss: l[0] / n,
        acc: (100 * h[0]) / n,
        lr,
      });
    };
    await evaluate();
    let lr = scheduledLearningRate(this.schedule, 0);
    outer: for (let epoch = 0; epoch < config.epochs; epoch++) {
      for (const idx of batchOrder(data.train.n, config.batchSize, config.seed, epoch)) {
        if (hooks.shouldStop?.()) {
          this.stopped = true;
          break outer;
        }
        lr = scheduledLearningRate(this.schedule, this.step);
        // a QAT optimizer applies its schedule itself; fp's base optimizer gets it here
        if (!qat) setLearningRate(optimizer, lr);
        const [loss, hits] = this.trainStep(variables, idx);
        const next = tf.tidy(() => [
          tf.add(lossSum, tf.mul(loss, idx.length)),
          tf.add(hitSum, hits),
        ]) as [tf.Scalar, tf.Scalar];
        tf.dispose([lossSum, hitSum, loss, hits]);
        [lossSum, hitSum] = next;
        samples += idx.length;
        this.step++;
        if (this.step % evalEvery === 0 || this.step === this.totalSteps) await evaluate();
        if (performance.now() - lastYield > YIELD_MS) {
          // a window of at least a full batch: the epoch's short last batch alone is noise
          if (samples >= config.batchSize) await report(lr);
          await hooks.onYield?.();
          await yieldToBrowser();
          lastYield = performance.now();
        }
      }
    }
    if (samples >= config.batchSize) await report(lr);
    tf.dispose([lossSum, hitSum]);
    this.seconds = (performance.now() - t0) / 1000;
    if (evaluatedAt !== this.step) await evaluate();
    await hooks.onYield?.();
  }

  /** One step, as src/train's `trainRun` takes it: returns the batch's loss and hit count. */
  private trainStep(variables: tf.Variable[], indices: Int32Array): [tf.Scalar, tf.Scalar] {
    const { x, y } = gatherBatch(this.data.train, indices, this.data.inputShape);
    const labels = tf.cast(y, 'int32');
    let hits: tf.Scalar | undefined;
    const loss = this.optimizer.minimize(
      () => {
        const out = this.head.net.apply(x, { training: true }) as tf.Tensor;
        hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), labels), 'float32')));
        return this.head.loss(labels, out);
      },
      true,
      variables,
    ) as tf.Scalar;
    tf.dispose([x, y, labels]);
    return [loss, hits as tf.Scalar];
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}
