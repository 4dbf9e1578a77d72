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
}

/** A checkpoint: the JSON state, the model's artifacts, and the optimizer tensors' bytes. */
export interface CheckpointData {
  state: CheckpointState;
  model: tf.io.ModelArtifacts;
  optimizerData: ArrayBuffer;
}

/** Tensors `getWeights` created for the occasion (not the optimizer's own variables). */
const TRANSIENT = /^(iter|parq\/state|admmq\/state)$/;

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
    return {
      state: {
        format: CHECKPOINT_FORMAT,
        ...state,
        optimizer: { className: optimizer.getClassName(), specs },
      },
      model: artifacts as tf.io.ModelArtifacts,
      optimizerData: data,
    };
  } finally {
    for (const w of weights) if (TRANSIENT.test(w.name)) w.tensor.dispose();
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
  if (optimizer.getClassName() !== state.optimizer.className) {
    throw new Error(
      `checkpoint optimizer is ${state.optimizer.className}, the run built ${optimizer.getClassName()}`,
    );
  }
  const weights = decodeOptimizerWeights(data, state.optimizer.specs);
  try {
    await optimizer.setWeights(weights.filter((w) => !w.name.startsWith(EXTRA)));
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
