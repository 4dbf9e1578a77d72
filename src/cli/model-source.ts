/**
 * Where `parq eval` and `parq info` get a model: `openModelSource(path)`. Today a path is a
 * checkpoint (a run's output folder, or its checkpoint/ folder). To read another kind (e.g. a
 * packed file from `parq export`), add a `kind` and a branch in `openModelSource`: the
 * commands only use the fields of ModelSource.
 */
import { statSync } from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import { isPackedFile, readQuantizedFile } from '../export/node-io.js';
import { describePacked, loadQuantized, type PackedDescription } from '../export/reader.js';
import {
  findCheckpoint,
  loadCheckpointModel,
  readCheckpointState,
} from '../train/checkpoint-files.js';
import type { CheckpointState } from '../train/checkpoint.js';
import { checkTrainConfig, type TrainConfig } from '../train/config.js';
import type { RunMetrics } from '../train/metrics.js';
import { grouped } from '../util/text-format.js';

export interface ModelSource {
  kind: 'checkpoint' | 'packed';
  /** What was read: for a checkpoint, its folder. */
  path: string;
  /** A one-line description, e.g. `checkpoint runs/a/checkpoint (epoch 20 of 20)`. */
  description: string;
  model: tf.LayersModel;
  /** The training config, when the source records it. */
  config?: TrainConfig;
  /** The metrics of the run so far, when the source records them. */
  metrics?: RunMetrics;
  /** Checkpoint state (kind 'checkpoint'). */
  checkpoint?: CheckpointState;
  /** The file's summary (kind 'packed'). */
  packed?: PackedDescription;
}

/** Opens the model at `path`; throws a one-line error naming the path and the problem. */
export async function openModelSource(path: string): Promise<ModelSource> {
  // A file is read as a packed file (a checkpoint is a folder): the reader names what is wrong
  // with one that is not (wrong magic bytes, truncated, damaged).
  if (isPackedFile(path) || statSync(path, { throwIfNoEntry: false })?.isFile()) {
    return openPackedFile(path);
  }
  const dir = findCheckpoint(path);
  const state = readCheckpointState(dir);
  const model = await loadCheckpointModel(dir);
  return {
    kind: 'checkpoint',
    path: dir,
    description: `checkpoint ${dir} (epoch ${state.epoch} of ${state.config.epochs})`,
    model,
    config: state.config,
    metrics: state.metrics,
    checkpoint: state,
  };
}

/** A packed file from `parq export`; its config is the run's when it was exported from a checkpoint. */
async function openPackedFile(path: string): Promise<ModelSource> {
  const bytes = readQuantizedFile(path);
  let packed: PackedDescription;
  let model: tf.LayersModel;
  try {
    packed = await describePacked(bytes);
    model = await loadQuantized(bytes);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(msg.startsWith(path) ? msg : `${path}: ${msg}`, { cause: err });
  }
  let config: TrainConfig | undefined = packed.metadata?.config as TrainConfig | undefined;
  try {
    if (config) checkTrainConfig(config);
  } catch {
    config = undefined;
  }
  return {
    kind: 'packed',
    path,
    description: `packed file ${path} (${grouped(bytes.length)} bytes, format ${packed.version})`,
    model,
    config,
    packed,
  };
}
