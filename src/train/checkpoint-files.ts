/// <reference types="node" />
/**
 * Checkpoints on disk (node only). A run's output folder OUT holds the latest complete
 * checkpoint in OUT/checkpoint/:
 *
 *   model.json + weights.bin   the model (tfjs layers format: `tf.loadLayersModel` reads it)
 *   optimizer.bin              the optimizer tensors, as `state.json` lists them
 *   state.json                 config, epoch, data order, optimizer specs, metrics so far
 *
 * A new checkpoint is written to a temporary folder (every file flushed), then swapped in by
 * two renames: OUT/checkpoint -> OUT/checkpoint.old, temp -> OUT/checkpoint; then the old one
 * is removed. A crash between the renames leaves OUT/checkpoint.old, which `findCheckpoint`
 * falls back to, so there is always a complete checkpoint.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { syncDir, writeFileAtomic, writeFileDurably } from '../util/durable-file.js';
import { fileLoadHandler, fileSaveHandler, MODEL_JSON } from '../models/file-io.js';
import { CHECKPOINT_FORMAT, type CheckpointData, type CheckpointState } from './checkpoint.js';

export const CHECKPOINT_DIR = 'checkpoint';
export const STATE_JSON = 'state.json';
export const OPTIMIZER_BIN = 'optimizer.bin';
const OLD_SUFFIX = '.old';

/** Writes `data` as OUT/checkpoint/, replacing the previous one atomically. Returns its path. */
export { writeFileAtomic };

export async function writeCheckpoint(outDir: string, data: CheckpointData): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const final = join(outDir, CHECKPOINT_DIR);
  const old = final + OLD_SUFFIX;
  const tmp = join(outDir, `.${CHECKPOINT_DIR}.tmp-${process.pid}-${Date.now().toString(36)}`);
  try {
    mkdirSync(tmp);
    await fileSaveHandler(tmp).save?.(data.model);
    writeFileDurably(join(tmp, OPTIMIZER_BIN), new Uint8Array(data.optimizerData));
    writeFileDurably(join(tmp, STATE_JSON), JSON.stringify(data.state));
    syncDir(tmp);
    if (existsSync(final)) {
      rmSync(old, { recursive: true, force: true });
      renameSync(final, old);
    }
    renameSync(tmp, final);
    syncDir(outDir);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return final;
}

/**
 * The checkpoint folder `path` names: a checkpoint folder itself (holding state.json), or a
 * run's output folder (its checkpoint/, or checkpoint.old/ after an interrupted swap).
 * Throws a one-line error when there is none.
 */
export function findCheckpoint(path: string): string {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (!statSync(path).isDirectory()) {
    throw new Error(`${path}: not a checkpoint folder (expected a folder holding ${STATE_JSON})`);
  }
  for (const dir of [path, join(path, CHECKPOINT_DIR), join(path, CHECKPOINT_DIR + OLD_SUFFIX)]) {
    if (existsSync(join(dir, STATE_JSON))) return dir;
  }
  throw new Error(
    `${path}: no checkpoint here (expected ${join(path, CHECKPOINT_DIR, STATE_JSON)})`,
  );
}

/** The run output folder a checkpoint folder belongs to (its parent when named checkpoint). */
export function runDirOf(checkpointDir: string): string {
  const name = basename(checkpointDir);
  return name === CHECKPOINT_DIR || name === CHECKPOINT_DIR + OLD_SUFFIX
    ? dirname(checkpointDir)
    : checkpointDir;
}

/** Reads and checks a checkpoint's state.json (no tensors). */
export function readCheckpointState(dir: string): CheckpointState {
  const path = join(dir, STATE_JSON);
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as CheckpointState;
  } catch (err) {
    throw new Error(`${path}: cannot read a checkpoint state (${errorText(err)})`, { cause: err });
  }
  if (state?.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a parq checkpoint (format '${String(state?.format)}', expected '${CHECKPOINT_FORMAT}')`,
    );
  }
  return state;
}

/** A checkpoint read from disk: its state, model and optimizer bytes. */
export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  model: tf.LayersModel;
  optimizerData: ArrayBuffer;
}

/** Reads the checkpoint `path` names (see `findCheckpoint`): state, model and optimizer. */
export async function readCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const dir = findCheckpoint(path);
  const state = readCheckpointState(dir);
  const optimizerData = readOptimizerData(dir, state);
  const model = await loadCheckpointModel(dir);
  return { dir, state, model, optimizerData };
}

/** Loads the model of a checkpoint folder. */
export async function loadCheckpointModel(dir: string): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(fileLoadHandler(join(dir, MODEL_JSON)));
  } catch (err) {
    throw new Error(`${dir}: cannot load the checkpoint model (${errorText(err)})`, { cause: err });
  }
}

function readOptimizerData(dir: string, state: CheckpointState): ArrayBuffer {
  const path = join(dir, OPTIMIZER_BIN);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read (${errorText(err)})`, { cause: err });
  }
  const expected = state.optimizer.specs.reduce(
    (a, s) => a + 4 * s.shape.reduce((x, y) => x * y, 1),
    0,
  );
  if (bytes.byteLength !== expected) {
    throw new Error(`${path}: holds ${bytes.byteLength} bytes, state.json describes ${expected}`);
  }
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
