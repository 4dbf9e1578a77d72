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
 *
 * state.json records the CRC-32 of the other three files (`checksums`) and of itself (`crc32`,
 * over its JSON without that field); `readCheckpointState` checks them all before anything is
 * restored, so a damaged checkpoint is refused, never silently resumed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from '../export/crc32.js';
import * as tf from '@tensorflow/tfjs';
import { syncDir, writeFileAtomic, writeFileDurably } from '../util/durable-file.js';
import { fileLoadHandler, fileSaveHandler, MODEL_JSON, WEIGHTS_BIN } from '../models/file-io.js';
import { CHECKPOINT_FORMAT, type CheckpointData, type CheckpointState } from './checkpoint.js';

export const CHECKPOINT_DIR = 'checkpoint';
export const STATE_JSON = 'state.json';
export const OPTIMIZER_BIN = 'optimizer.bin';
const OLD_SUFFIX = '.old';
/** The files of a checkpoint whose CRC-32 state.json records. */
export const CHECKSUMMED = [MODEL_JSON, WEIGHTS_BIN, OPTIMIZER_BIN] as const;
/** Prefix of the temporary folders `writeCheckpoint` swaps in (`.checkpoint.tmp-<pid>-<time>`). */
export const CHECKPOINT_TMP_PREFIX = `.${CHECKPOINT_DIR}.tmp-`;

/** Writes `data` as OUT/checkpoint/, replacing the previous one atomically. Returns its path. */
export { writeFileAtomic };

export async function writeCheckpoint(outDir: string, data: CheckpointData): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const final = join(outDir, CHECKPOINT_DIR);
  const old = final + OLD_SUFFIX;
  const tmp = join(outDir, `${CHECKPOINT_TMP_PREFIX}${process.pid}-${Date.now().toString(36)}`);
  try {
    mkdirSync(tmp);
    await fileSaveHandler(tmp).save?.(data.model);
    writeFileDurably(join(tmp, OPTIMIZER_BIN), new Uint8Array(data.optimizerData));
    // The CRCs of the bytes as written (read back: what a resume will read).
    const checksums: Record<string, number> = {};
    for (const name of CHECKSUMMED) checksums[name] = crc32(readFileSync(join(tmp, name)));
    writeFileDurably(join(tmp, STATE_JSON), sealState({ ...data.state, checksums }));
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

/** state.json's text: the state and, last, `crc32`, the CRC-32 of the JSON before it. */
function sealState(state: CheckpointState): string {
  const { crc32: _old, ...body } = state;
  const json = JSON.stringify(body);
  return `${json.slice(0, -1)},"crc32":${crc32(new TextEncoder().encode(json))}}`;
}

/**
 * Reads and checks a checkpoint's state.json: its format, its own checksum, the fields a
 * resume uses, and the CRC-32 of model.json, weights.bin and optimizer.bin. Throws a one-line
 * error naming the damaged file. (Reads the files once to check them; builds no tensor.)
 */
export function readCheckpointState(dir: string): CheckpointState {
  const path = join(dir, STATE_JSON);
  let text: string;
  let state: CheckpointState;
  try {
    text = readFileSync(path, 'utf8');
    state = JSON.parse(text) as CheckpointState;
  } catch (err) {
    throw new Error(`${path}: cannot read a checkpoint state (${errorText(err)})`, { cause: err });
  }
  if (state?.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a parq checkpoint (format '${String(state?.format)}', expected '${CHECKPOINT_FORMAT}')`,
    );
  }
  if (typeof state.crc32 !== 'number') {
    throw new Error(`${path}: no checksum (damaged, or written by an older parq-ts)`);
  }
  if (sealState(state) !== text) {
    throw new Error(`${path}: checksum mismatch: the checkpoint is damaged`);
  }
  checkStateFields(path, state);
  for (const name of CHECKSUMMED) {
    const file = join(dir, name);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const problem = code === 'ENOENT' ? 'missing file' : `cannot read (${errorText(err)})`;
      throw new Error(`${file}: ${problem}: the checkpoint is damaged`, { cause: err });
    }
    if (crc32(bytes) !== state.checksums?.[name]) {
      throw new Error(`${file}: checksum mismatch: the checkpoint is damaged`);
    }
  }
  return state;
}

/** The fields of a (checksum-verified) state that a resume, eval or info reads. */
function checkStateFields(path: string, s: CheckpointState): void {
  const bad = (what: string): never => {
    throw new Error(`${path}: ${what}: not a usable checkpoint state`);
  };
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(s.config)) bad('no config');
  if (!Number.isInteger(s.epoch) || s.epoch < 0) bad(`bad epoch ${JSON.stringify(s.epoch)}`);
  if (!Number.isInteger(s.step) || s.step < 0) bad(`bad step ${JSON.stringify(s.step)}`);
  if (!isObject(s.metrics)) bad('no metrics');
  if (!isObject(s.optimizer)) bad('no optimizer');
  if (typeof s.optimizer.className !== 'string' || !Array.isArray(s.optimizer.specs)) {
    bad('optimizer has no className or specs');
  }
  for (const spec of s.optimizer.specs) {
    if (
      !isObject(spec) ||
      typeof spec.name !== 'string' ||
      !Array.isArray(spec.shape) ||
      !spec.shape.every((d) => Number.isInteger(d) && d >= 0)
    ) {
      bad(`optimizer spec ${JSON.stringify(spec)} has no name or shape`);
    }
  }
  if (!isObject(s.checksums)) bad('no checksums');
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
  try {
    checkOptimizerSpecs(join(dir, STATE_JSON), state, model);
  } catch (err) {
    model.dispose();
    throw err;
  }
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

/**
 * Optimizer tensors named after a model weight (`<weight>/<slot>`, as tfjs names the base
 * optimizer's accumulators) must have that weight's shape: specs swapped or edited by hand are
 * refused here, naming the file, instead of failing inside tfjs.
 */
function checkOptimizerSpecs(path: string, state: CheckpointState, model: tf.LayersModel): void {
  const shapes = new Map(model.trainableWeights.map((w) => [w.originalName, w.shape]));
  for (const spec of state.optimizer.specs) {
    const cut = spec.name.lastIndexOf('/');
    const shape = cut > 0 ? shapes.get(spec.name.slice(0, cut)) : undefined;
    if (shape && JSON.stringify(shape) !== JSON.stringify(spec.shape)) {
      throw new Error(
        `${path}: optimizer tensor '${spec.name}' has shape [${spec.shape}], ` +
          `the model's '${spec.name.slice(0, cut)}' is [${shape}]: the checkpoint is inconsistent`,
      );
    }
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
