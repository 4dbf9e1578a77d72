/**
 * Checkpoints in memory: everything a run needs to continue exactly. Browser-safe; the node
 * files (src/train/checkpoint-files.ts) write and read them as a folder.
 *
 * A checkpoint holds the model (topology + weights, as tfjs model artifacts), the optimizer
 * state (QuantOptimizer: latent weights, levels, step, and the base optimizer's accumulators),
 * the run config, the epoch reached, and the metrics so far. The data order needs no state of
 * its own: the batches of epoch e are `batchOrder(n, batchSize, seed, e)`.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedBaseOptimizer } from '../optim/fused-base.js';
import type { TrainConfig } from './config.js';
import type { RunMetrics } from './metrics.js';

export const CHECKPOINT_FORMAT = 'parq-checkpoint/1';

/** The JSON part of a checkpoint. */
export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
  config: TrainConfig;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed. */
  step: number;
  /** The data order is `batchOrder(trainSamples, batchSize, seed, epoch)`: the next epoch's. */
  dataOrder: { seed: number; nextEpoch: number };
  /** The optimizer's tensors, in `optimizer.bin` order. */
  optimizer: { className: string; specs: tf.io.WeightsManifestEntry[] };
  metrics: RunMetrics;
  /** CRC-32 of model.json, weights.bin and optimizer.bin (set when written to disk). */
  checksums?: Record<string, number>;
  /** CRC-32 of state.json's JSON before this field (set when written to disk). */
  crc32?: number;
}

/** A checkpoint: the JSON state, the model's artifacts, and the optimizer tensors' bytes. */
export interface CheckpointData {
  state: CheckpointState;
  model: tf.io.ModelArtifacts;
  optimizerData: ArrayBuffer;
}

/** Tensors `getWeights` created for the occasion (not the optimizer's own variables). */
const TRANSIENT = /^(iter|(parq|admmq)\/state(64)?)$/;

/** State a checkpoint adds to `getWeights` so that a resumed run continues bit for bit. */
const EXTRA = 'checkpoint/';

/** tfjs Adam's running powers beta^t (its setWeights recomputes them with pow: not bitwise equal). */
interface AdamLike {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

/** The Adam optimizer inside `optimizer` (itself, or a QAT optimizer's base), if any. */
function adamOf(optimizer: tf.Optimizer): AdamLike | null {
  if (optimizer.getClassName() === 'Adam') return optimizer as unknown as AdamLike;
  const base = (optimizer as unknown as { base?: tf.Optimizer }).base;
  return base && base.getClassName() === 'Adam' ? (base as unknown as AdamLike) : null;
}

function exactExtras(optimizer: tf.Optimizer): { name: string; tensor: tf.Tensor }[] {
  const adam = adamOf(optimizer);
  if (!adam?.accBeta1 || !adam.accBeta2) return [];
  return [
    { name: `${EXTRA}adam/accBeta1`, tensor: adam.accBeta1 },
    { name: `${EXTRA}adam/accBeta2`, tensor: adam.accBeta2 },
  ];
}

/**
 * The class a checkpoint names for `optimizer`'s state: its own, or for a FusedBaseOptimizer
 * (fp runs: the base's update fused, its state the base's own) the base's, so that fp
 * checkpoints read the same with or without the fusion.
 */
function stateClassName(optimizer: tf.Optimizer): string {
  // by class name: tf.Optimizer's instanceof is duck-typed (any optimizer passes)
  return optimizer.getClassName() === FusedBaseOptimizer.className
    ? (optimizer as FusedBaseOptimizer).base.getClassName()
    : optimizer.getClassName();
}

/** Captures the model and optimizer now (reads tensors; changes nothing). */
export async function captureCheckpoint(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  state: Omit<CheckpointState, 'format' | 'optimizer'>,
): Promise<CheckpointData> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  const weights = [...(await optimizer.getWeights()), ...exactExtras(optimizer)];
  try {
    const { data, specs } = await tf.io.encodeWeights(weights);
    checkFinite(data, specs, 'optimizer');
    const modelData = tf.io.CompositeArrayBuffer.join(
      (artifacts as tf.io.ModelArtifacts).weightData,
    );
    checkFinite(modelData, (artifacts as tf.io.ModelArtifacts).weightSpecs ?? [], 'model');
    return {
      state: {
        format: CHECKPOINT_FORMAT,
        ...state,
        optimizer: { className: stateClassName(optimizer), specs },
      },
      model: artifacts as tf.io.ModelArtifacts,
      optimizerData: data,
    };
  } finally {
    for (const w of weights) if (TRANSIENT.test(w.name)) w.tensor.dispose();
  }
}

/**
 * Throws when a float32 tensor of `data` holds NaN or Infinity: a checkpoint is only ever
 * taken of finite weights, so the last one a diverged run leaves is usable.
 */
function checkFinite(data: ArrayBuffer, specs: tf.io.WeightsManifestEntry[], what: string): void {
  let at = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = (spec.dtype === 'bool' ? 1 : 4) * n;
    if (spec.dtype === 'float32') {
      const values =
        at % 4 === 0 ? new Float32Array(data, at, n) : new Float32Array(data.slice(at, at + bytes));
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(values[i])) {
          throw new Error(
            `checkpoint: ${what} tensor '${spec.name}' is not finite (the run diverged)`,
          );
        }
      }
    }
    at += bytes;
  }
}

/** The optimizer tensors of a checkpoint, in saved order (the caller disposes them). */
export function decodeOptimizerWeights(
  data: ArrayBuffer,
  specs: tf.io.WeightsManifestEntry[],
): { name: string; tensor: tf.Tensor }[] {
  const map = tf.io.decodeWeights(data, specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

/** Restores the optimizer state of a checkpoint into a freshly built optimizer of its class. */
export async function restoreOptimizer(
  optimizer: tf.Optimizer,
  state: CheckpointState,
  data: ArrayBuffer,
): Promise<void> {
  if (stateClassName(optimizer) !== state.optimizer.className) {
    throw new Error(
      `checkpoint optimizer is ${state.optimizer.className}, the run built ${stateClassName(optimizer)}`,
    );
  }
  const weights = decodeOptimizerWeights(data, state.optimizer.specs);
  try {
    try {
      await optimizer.setWeights(weights.filter((w) => !w.name.startsWith(EXTRA)));
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new Error(
        `checkpoint optimizer state (optimizer.bin, as state.json lists it) does not fit the run: ${msg}`,
        { cause: err },
      );
    }
    const extra = new Map(
      weights.filter((w) => w.name.startsWith(EXTRA)).map((w) => [w.name, w.tensor]),
    );
    const adam = adamOf(optimizer);
    const beta1 = extra.get(`${EXTRA}adam/accBeta1`);
    const beta2 = extra.get(`${EXTRA}adam/accBeta2`);
    if (adam?.accBeta1 && adam.accBeta2 && beta1 && beta2) {
      adam.accBeta1.assign(beta1);
      adam.accBeta2.assign(beta2);
    }
  } finally {
    for (const w of weights) w.tensor.dispose();
  }
}
