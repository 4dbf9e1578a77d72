/**
 * `trainRun`: one training run from a config, shared by the CLI, the playground and the
 * benchmarks. Browser-safe (no node imports): the caller loads the data (and a model file, or
 * a checkpoint to resume) and receives progress, epoch records and checkpoints by callbacks.
 *
 * The loop is a plain `optimizer.minimize` per batch on our own batches
 * (`batchOrder(seed, epoch)`), so the data order is a pure function of (seed, epoch) and a
 * resumed run continues exactly. Loss and accuracy are summed on the device and read once
 * per epoch; the only other reads are the histograms at a few snapshot epochs.
 *
 * Divergence: the device also counts the batches before the first non-finite loss, so the
 * epoch-end read of the loss (and one scalar: are all weights finite?) tells whether and at
 * which step the run diverged, with no read per step. A diverged run stops with status
 * `diverged` before its epoch is recorded or checkpointed: the last checkpoint stays finite.
 */
import * as tf from '@tensorflow/tfjs';
import { wasmSimdInUse } from '../backend/wasm/simd/index.js';
import { batchOrder, gatherBatch } from '../data/batches.js';
import type { Dataset } from '../data/types.js';
import { scheduledLearningRate, setLearningRate } from '../optim/learning-rate.js';
import type { QatInspection } from '../optim/inspection.js';
import { quantizeTensor } from '../quant/functional.js';
import { quantizerByName } from '../quant/registry.js';
import {
  checkModelFits,
  disposeOptimizer,
  lossHead,
  modelForConfig,
  optimizerForConfig,
  quantizedVariables,
  wouldQuantizeVariables,
  type LossHead,
  type QuantizedEntry,
} from './build.js';
import {
  captureCheckpoint,
  restoreOptimizer,
  type CheckpointData,
  type CheckpointState,
} from './checkpoint.js';
import { checkTrainConfig, isQuantMethod, stepsPerEpoch, type TrainConfig } from './config.js';
import {
  checkDataset,
  datasetFingerprint,
  datasetInfo,
  limitDataset,
  resolveClasses,
} from './data.js';
import { evaluateModel } from './evaluate.js';
import {
  METRICS_FORMAT,
  snapshotEpochs,
  type EpochRecord,
  type HistogramSnapshot,
  type QuantizedTensorInfo,
  type RunMetrics,
  type ScheduleCurve,
  type TensorSnapshot,
} from './metrics.js';
import { distinctCount, histogram, quantizedTensorInfo, range, toRows } from './stats.js';

/** Live progress inside an epoch. */
export interface BatchProgress {
  /** 1-based epoch being trained. */
  epoch: number;
  epochs: number;
  /** Batches done in this epoch, and the epoch's batch count. */
  batch: number;
  batches: number;
  /** Running mean loss / accuracy of the epoch so far, refreshed every `liveEveryMs`. */
  loss?: number;
  accuracy?: number;
}

/** What `onEpochEnd` can do besides reading the record. */
export interface EpochContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  metrics: RunMetrics;
  /** Captures a checkpoint of the run as it is now (after this epoch). */
  checkpoint(): Promise<CheckpointData>;
}

/** What the per-step hooks see: the run's model and optimizer between two steps. */
export interface StepContext {
  /** Optimizer steps done in the whole run (1 after the first step). */
  step: number;
  /** 1-based epoch of the step, and its 1-based batch. */
  epoch: number;
  batch: number;
  totalSteps: number;
  stepsPerEpoch: number;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
}

export interface TrainCallbacks {
  /**
   * Called once the run is set up, before the first (or the resumed) epoch; `ctx` holds the
   * model and optimizer (at step `ctx.step`: 0, or the checkpoint's).
   */
  onStart?(metrics: RunMetrics, ctx: StepContext): void | Promise<void>;
  /**
   * Called after every step with the model and optimizer (read them here for live views: the
   * loop itself reads nothing per step). Awaited: a slow hook slows the run.
   */
  onStep?(ctx: StepContext): void | Promise<void>;
  /**
   * With `evalEverySteps`: the test loss and accuracy after `ctx.step` steps. These extra
   * evaluations are not recorded in the metrics (which test once an epoch, `evalEvery`).
   */
  onEval?(ctx: StepContext, test: { loss: number; accuracy: number }): void | Promise<void>;
  onEpochStart?(epoch: number, epochs: number, batches: number): void | Promise<void>;
  /** Called after every batch (cheap: no device reads except the throttled running means). */
  onBatchEnd?(progress: BatchProgress): void | Promise<void>;
  /** Called after each epoch, with its record (metrics.epochs holds all so far). */
  onEpochEnd?(record: EpochRecord, ctx: EpochContext): void | Promise<void>;
}

/** A checkpoint to continue from (see `readCheckpoint` in checkpoint-files.ts for node). */
export interface ResumeFrom {
  state: CheckpointState;
  optimizerData: ArrayBuffer;
}

export interface TrainRunOptions {
  /** The dataset the config names, already loaded (`loadDataset(config.data)` in node). */
  dataset: Dataset;
  /** The model to train; required when `config.model` is a file, and when resuming. */
  model?: tf.LayersModel;
  /** Continue a checkpointed run (pass the checkpoint's model as `model`). */
  resume?: ResumeFrom;
  callbacks?: TrainCallbacks;
  /** Abort between two steps; the run returns with status `interrupted`. */
  signal?: AbortSignal;
  /** Stop (status `stopped`) after this many epochs of this call, to resume later. */
  stopAfter?: number;
  /** Backend name recorded in the metrics. Default `tf.getBackend()`. */
  backend?: string;
  /** Refresh the running loss/accuracy of `onBatchEnd` at most this often. Default 500 ms. */
  liveEveryMs?: number;
  /** Also test every this many steps and report it to `onEval` (0 = never). Default 0. */
  evalEverySteps?: number;
}

export interface TrainResult {
  metrics: RunMetrics;
  /** The trained model and its optimizer: the caller owns them (dispose when done). */
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
}

/** Quantized tensors with more groups than this get no levels in histograms and summaries. */
const MAX_LEVEL_GROUPS = 16;
/** Points of the sampled schedule curve. */
const SCHEDULE_POINTS = 200;
/** Let timers and signals run at least this often during an epoch. */
const YIELD_EVERY_MS = 100;

/** Trains one run (or continues one); see the module comment. */
export async function trainRun(
  config: TrainConfig,
  options: TrainRunOptions,
): Promise<TrainResult> {
  checkTrainConfig(config);
  const started = Date.now();
  const resume = options.resume;
  if (resume && options.model === undefined) {
    throw new Error('trainRun: resuming needs the checkpoint model as options.model');
  }
  const dataset = limitDataset(
    resolveClasses(options.dataset, config.numClasses),
    config.limitTrain,
    config.limitTest,
  );
  checkDataset(dataset);
  const steps = stepsPerEpoch(dataset.train.n, config.batchSize);
  const totalSteps = steps * config.epochs;
  const model = options.model ?? modelForConfig(config, dataset);
  let run: ReturnType<typeof optimizerForConfig> | undefined;
  try {
    checkModelFits(model, dataset);
    // The run's one quantizer: the optimizer's groups and the epoch-0 levels use it.
    const quantizer = quantizerByName(config.quantizer, config.bits);
    const entries = isQuantMethod(config.method)
      ? quantizedVariables(config, model, quantizer)
      : wouldQuantizeVariables(config, model, quantizer);
    run = optimizerForConfig(config, totalSteps, steps, quantizer);
    const { optimizer, quant, schedule } = run;
    const head = lossHead(model);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    if (variables.length === 0) {
      throw new Error(`the model has no trainable weights: there is nothing to train`);
    }

    let metrics: RunMetrics;
    if (resume) {
      checkResumable(resume.state, config, dataset, steps);
      await restoreOptimizer(optimizer, resume.state, resume.optimizerData);
      metrics = structuredClone(resume.state.metrics);
      metrics.status = 'running';
      metrics.backend = options.backend ?? tf.getBackend();
      const simd = wasmSimdInUse();
      if (simd) metrics.simd = simd;
      else delete metrics.simd;
      metrics.timing.segments.push(new Date(started).toISOString());
    } else {
      metrics = {
        format: METRICS_FORMAT,
        config: structuredClone(config),
        dataset: datasetInfo(dataset),
        backend: options.backend ?? tf.getBackend(),
        ...simdOf(),
        status: 'running',
        stepsPerEpoch: steps,
        totalSteps,
        epochsDone: 0,
        epochs: [],
        quantized: [],
        histograms: [],
        schedule: scheduleCurve(quant, totalSteps),
        lossOn: head.kind,
        timing: {
          epochSeconds: [],
          wallSeconds: 0,
          stepsPerSecond: 0,
          segments: [new Date(started).toISOString()],
        },
      };
      if (entries.length > 0) metrics.histograms.push(await snapshot(0, 0, entries, config, null));
    }
    const stepContext = (step: number): StepContext => ({
      step,
      epoch: Math.floor(Math.max(0, step - 1) / steps) + 1,
      batch: step === 0 ? 0 : ((step - 1) % steps) + 1,
      totalSteps,
      stepsPerEpoch: steps,
      model,
      optimizer,
    });
    await options.callbacks?.onStart?.(metrics, stepContext(metrics.epochsDone * steps));
    const evalEverySteps = options.evalEverySteps ?? 0;
    if (!(Number.isInteger(evalEverySteps) && evalEverySteps >= 0)) {
      throw new Error(`trainRun: evalEverySteps must be an integer >= 0, got ${evalEverySteps}`);
    }

    const snapshots = new Set(snapshotEpochs(config.epochs));
    const firstEpoch = metrics.epochsDone;
    const liveEveryMs = options.liveEveryMs ?? 500;
    // Kept across epochs: an epoch shorter than YIELD_EVERY_MS must not restart the clock,
    // or a run of short epochs never lets a signal (Ctrl-C, SIGTERM) in.
    let lastYield = performance.now();
    for (let e = firstEpoch; e < config.epochs; e++) {
      if (options.stopAfter !== undefined && e - firstEpoch >= options.stopAfter) {
        metrics.status = 'stopped';
        break;
      }
      const t0 = performance.now();
      const batches = batchOrder(dataset.train.n, config.batchSize, config.seed, e);
      await options.callbacks?.onEpochStart?.(e + 1, config.epochs, batches.length);
      const sums = new RunningSums();
      let lastLive = performance.now();
      let interrupted = false;
      let diverged = false;
      for (let b = 0; b < batches.length; b++) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        if (!quant) setLearningRate(optimizer, scheduledLearningRate(schedule, e * steps + b));
        trainStep(optimizer, head, variables, dataset, batches[b], sums);
        const done = e * steps + b + 1;
        const cb = options.callbacks;
        if (cb?.onStep) await cb.onStep(stepContext(done));
        if (cb?.onEval && evalEverySteps > 0 && done % evalEverySteps === 0) {
          const test = await evaluateModel(model, dataset.test, dataset.inputShape, { head });
          await cb.onEval(stepContext(done), test);
        }
        const progress = options.callbacks?.onBatchEnd;
        const now = performance.now();
        if (progress) {
          const p: BatchProgress = {
            epoch: e + 1,
            epochs: config.epochs,
            batch: b + 1,
            batches: batches.length,
          };
          if (now - lastLive >= liveEveryMs || b + 1 === batches.length) {
            Object.assign(p, await sums.means());
            lastLive = now;
            if (!Number.isFinite(p.loss)) {
              diverged = true; // the running mean is read anyway: stop now
              break;
            }
          }
          await progress(p);
        }
        if (now - lastYield >= YIELD_EVERY_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      if (interrupted) {
        sums.dispose();
        metrics.status = 'interrupted';
        break;
      }
      const { loss, accuracy } = await sums.means();
      const weightsFinite = diverged || !Number.isFinite(loss) ? true : await allFinite(variables);
      if (diverged || !Number.isFinite(loss) || !weightsFinite) {
        const cause = weightsFinite ? 'loss' : 'weights';
        const batch = cause === 'loss' ? await sums.finiteBatches() : batches.length - 1;
        sums.dispose();
        metrics.status = 'diverged';
        metrics.diverged = { epoch: e + 1, step: e * steps + batch + 1, cause };
        break;
      }
      sums.dispose();
      const record: EpochRecord = {
        epoch: e + 1,
        step: (e + 1) * steps,
        loss,
        accuracy,
        lr: scheduledLearningRate(schedule, (e + 1) * steps - 1),
      };
      const value = quant?.schedule?.at((e + 1) * steps - 1);
      if (quant?.schedule && value !== undefined) record[quant.schedule.key] = value;
      const last = e + 1 === config.epochs;
      if (last || (config.evalEvery > 0 && (e + 1) % config.evalEvery === 0)) {
        const test = await evaluateModel(model, dataset.test, dataset.inputShape, { head });
        record.testLoss = test.loss;
        record.testAccuracy = test.accuracy;
      }
      if (entries.length > 0 && snapshots.has(e + 1)) {
        metrics.histograms.push(await snapshot(e + 1, (e + 1) * steps, entries, config, quant));
      }
      metrics.epochs.push(record);
      metrics.epochsDone = e + 1;
      if (last) {
        metrics.status = 'complete';
        metrics.final = {
          testLoss: record.testLoss as number,
          testAccuracy: record.testAccuracy as number,
        };
        metrics.quantized = isQuantMethod(config.method) ? await summarize(entries, quant) : [];
      }
      const seconds = (performance.now() - t0) / 1000;
      metrics.timing.epochSeconds.push(seconds);
      metrics.timing.wallSeconds = metrics.timing.epochSeconds.reduce((a, s) => a + s, 0);
      const allSteps = metrics.timing.epochSeconds.length * steps;
      metrics.timing.stepsPerSecond = allSteps / metrics.timing.wallSeconds;
      const ctx: EpochContext = {
        model,
        optimizer,
        metrics,
        checkpoint: () =>
          captureCheckpoint(model, optimizer, {
            config: structuredClone(config),
            epoch: e + 1,
            step: (e + 1) * steps,
            dataOrder: { seed: config.seed, nextEpoch: e + 1 },
            metrics: structuredClone(metrics),
          }),
      };
      await options.callbacks?.onEpochEnd?.(record, ctx);
    }
    if (metrics.status === 'running' && metrics.epochsDone === config.epochs)
      metrics.status = 'complete';
    return { metrics, model, optimizer };
  } catch (err) {
    if (run) disposeOptimizer(run.optimizer);
    if (options.model === undefined) model.dispose();
    throw err;
  }
}

/** One optimizer step on the batch `indices`, adding its loss and hits to `sums`. */
function trainStep(
  optimizer: tf.Optimizer,
  head: LossHead,
  variables: tf.Variable[],
  dataset: Dataset,
  indices: Int32Array,
  sums: RunningSums,
): void {
  const { x, y } = gatherBatch(dataset.train, indices, dataset.inputShape);
  let hits: tf.Scalar | undefined;
  const labels = tf.cast(y, 'int32');
  const loss = optimizer.minimize(
    () => {
      const out = head.net.apply(x, { training: true }) as tf.Tensor;
      hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), labels), 'float32')));
      return head.loss(labels, out);
    },
    true,
    variables,
  ) as tf.Scalar;
  sums.add(loss, hits as tf.Scalar, indices.length);
  tf.dispose([x, y, labels]);
}

/**
 * Loss and hit sums of an epoch, kept on the device, and the number of batches before the
 * first non-finite loss (`seenBad` turns 1 at that batch and stays 1).
 */
class RunningSums {
  private loss: tf.Scalar = tf.scalar(0);
  private hits: tf.Scalar = tf.scalar(0);
  private seenBad: tf.Scalar = tf.scalar(0);
  private good: tf.Scalar = tf.scalar(0);
  private samples = 0;

  /** Takes ownership of `loss` and `hits`. */
  add(loss: tf.Scalar, hits: tf.Scalar, batch: number): void {
    const [l, h, bad, good] = tf.tidy(() => {
      const bad = tf.maximum(this.seenBad, tf.cast(tf.logicalNot(tf.isFinite(loss)), 'float32'));
      return [
        tf.add(this.loss, tf.mul(loss, batch)),
        tf.add(this.hits, hits),
        bad,
        tf.add(this.good, tf.sub(1, bad)),
      ];
    });
    tf.dispose([this.loss, this.hits, this.seenBad, this.good, loss, hits]);
    this.loss = l as tf.Scalar;
    this.hits = h as tf.Scalar;
    this.seenBad = bad as tf.Scalar;
    this.good = good as tf.Scalar;
    this.samples += batch;
  }

  /** Batches of the epoch before the first non-finite loss (read only once diverged). */
  async finiteBatches(): Promise<number> {
    return (await this.good.data())[0];
  }

  async means(): Promise<{ loss: number; accuracy: number }> {
    const n = Math.max(1, this.samples);
    const [l, h] = await Promise.all([this.loss.data(), this.hits.data()]);
    return { loss: l[0] / n, accuracy: h[0] / n };
  }

  dispose(): void {
    tf.dispose([this.loss, this.hits, this.seenBad, this.good]);
  }
}

/** Whether every value of `variables` is finite (one scalar read). */
async function allFinite(variables: tf.Variable[]): Promise<boolean> {
  const bad = tf.tidy(() =>
    tf.addN(variables.map((v) => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(v)), 'float32')))),
  );
  const n = (await bad.data())[0];
  bad.dispose();
  return n === 0;
}

/** Histograms of the quantized tensors now (one read of each tensor). */
async function snapshot(
  epoch: number,
  step: number,
  entries: QuantizedEntry[],
  config: TrainConfig,
  quant: QatInspection | null,
): Promise<HistogramSnapshot> {
  const tensors: TensorSnapshot[] = [];
  for (const entry of entries) {
    const weights = await entry.variable.data();
    const latentT = quant?.getShadow(entry.name) ?? null;
    const latent = latentT ? await latentT.data() : null;
    const [lo, hi] = latent ? range(weights, latent) : range(weights);
    const snap: TensorSnapshot = {
      name: entry.label,
      weights: histogram(weights, 60, lo, hi),
      distinct: distinctCount(weights),
    };
    if (latent) snap.latent = histogram(latent, 60, lo, hi);
    if (isQuantMethod(config.method) && entry.view.numGroups <= MAX_LEVEL_GROUPS) {
      snap.levels = await levelsOf(entry, config, quant);
    }
    tensors.push(snap);
  }
  return { epoch, step, tensors };
}

/** The levels of a tensor: the optimizer's, or (before the first step) its quantizer's. */
async function levelsOf(
  entry: QuantizedEntry,
  config: TrainConfig,
  quant: QatInspection | null,
): Promise<number[][]> {
  let rows = quant?.getLevels(entry.name) ?? null;
  if (!rows) {
    const out = quantizeTensor(entry.quantizer, entry.variable, entry.bits, config.granularity);
    out.q.dispose();
    rows = out.levels;
  }
  const values = await rows.data();
  const n = rows.shape[0];
  rows.dispose();
  return toRows(values, n);
}

/** The final quantized tensors: distinct values overall and per group, and their levels. */
async function summarize(
  entries: QuantizedEntry[],
  quant: QatInspection | null,
): Promise<QuantizedTensorInfo[]> {
  const out: QuantizedTensorInfo[] = [];
  for (const entry of entries) {
    const values = await entry.variable.data();
    const info = quantizedTensorInfo(entry, values);
    const rows = quant?.getLevels(entry.name) ?? null;
    if (rows) {
      if (entry.view.numGroups <= MAX_LEVEL_GROUPS)
        info.levels = toRows(await rows.data(), rows.shape[0]);
      rows.dispose();
    }
    out.push(info);
  }
  return out;
}

/** The method's schedule over the run: PARQ's inverse slope, ADMM-Q's rho (none for fp, STE). */
function scheduleCurve(quant: QatInspection | null, totalSteps: number): ScheduleCurve | undefined {
  if (!quant?.schedule?.varies) return undefined;
  const { name, at } = quant.schedule;
  const steps: number[] = [];
  const values: number[] = [];
  const n = Math.min(SCHEDULE_POINTS, totalSteps);
  for (let i = 0; i <= n; i++) {
    const step = Math.min(totalSteps - 1, Math.round((i * (totalSteps - 1)) / Math.max(1, n)));
    const v = at(step);
    if (v === undefined) return undefined;
    if (steps.length > 0 && steps[steps.length - 1] === step) continue;
    steps.push(step);
    values.push(v);
  }
  return { name, steps, values };
}

/** Throws naming the difference when a checkpoint does not belong to this config and data. */
function checkResumable(
  state: CheckpointState,
  config: TrainConfig,
  dataset: Dataset,
  steps: number,
): void {
  const saved = JSON.stringify(state.config);
  if (saved !== JSON.stringify(config)) {
    const keys = Object.keys(config) as (keyof TrainConfig)[];
    const diff = keys.filter((k) => JSON.stringify(state.config[k]) !== JSON.stringify(config[k]));
    throw new Error(
      `resume: the checkpoint was trained with a different config (${diff.join(', ')})`,
    );
  }
  const d = state.metrics.dataset;
  if (d.trainSamples !== dataset.train.n || d.testSamples !== dataset.test.n) {
    throw new Error(
      `resume: the checkpoint trained on ${d.trainSamples} / ${d.testSamples} samples, ` +
        `the data now holds ${dataset.train.n} / ${dataset.test.n}`,
    );
  }
  const print = d.fingerprint;
  const now = print === undefined ? undefined : datasetFingerprint(dataset);
  if (print !== now) {
    throw new Error(
      `resume: the data differ from the checkpoint's (${d.name}: ${print}, now ${now}); ` +
        'a resumed run must train on the same data',
    );
  }
  if (state.metrics.stepsPerEpoch !== steps) {
    throw new Error(
      `resume: ${state.metrics.stepsPerEpoch} steps an epoch in the checkpoint, ${steps} now`,
    );
  }
}

/** `{ simd }` where parq-ts's SIMD kernels run (wasm), else nothing (the field stays out). */
function simdOf(): Pick<RunMetrics, 'simd'> {
  const simd = wasmSimdInUse();
  return simd ? { simd } : {};
}

/** Lets timers, I/O and signal handlers run (setImmediate in node, a macrotask elsewhere). */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (typeof g.setImmediate === 'function') return new Promise((r) => g.setImmediate?.(r));
  return new Promise((r) => setTimeout(r, 0));
}
