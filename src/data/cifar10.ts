/// <reference types="node" />
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readBytes } from './files.js';
import { DataError, type Dataset, type Split } from './types.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = PLANE * 3;
/** One record: 1 label byte, then the 32x32 red plane, green plane, blue plane (row-major). */
const RECORD = 1 + PIXELS;

export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

/**
 * CIFAR-10 from its binary version in `dir` (or in `dir/cifar-10-batches-bin`, where the
 * tarball unpacks): data_batch_1..5.bin → train (50,000), test_batch.bin → test (10,000).
 * Pixels are converted from channel-major planes to NHWC [32, 32, 3] and divided by 255.
 * Order: the files' record order, batches 1..5 concatenated.
 */
export function loadCifar10(dir: string): Dataset {
  const nested = join(dir, 'cifar-10-batches-bin');
  const base = !existsSync(join(dir, CIFAR10_TEST_FILE)) && existsSync(nested) ? nested : dir;
  const train = concatSplits(CIFAR10_TRAIN_FILES.map((f) => parseCifarBatch(join(base, f))));
  const test = parseCifarBatch(join(base, CIFAR10_TEST_FILE));
  return { name: `cifar10:${dir}`, train, test, inputShape: [SIDE, SIDE, 3], numClasses: 10 };
}

/** Parses one CIFAR-10 binary batch file into an NHWC split. */
export function parseCifarBatch(path: string): Split {
  const bytes = readBytes(path);
  if (bytes.length === 0) throw new DataError(`${path}: empty file`);
  const n = Math.floor(bytes.length / RECORD);
  const rest = bytes.length % RECORD;
  if (rest !== 0) {
    throw new DataError(
      `${path}: truncated: ${bytes.length} bytes is ${n} whole ${RECORD}-byte records ` +
        `plus ${rest} bytes`,
    );
  }
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const rec = i * RECORD;
    const label = bytes[rec];
    if (label >= CIFAR10_CLASSES.length) {
      throw new DataError(`${path}: record ${i} has label ${label} (expected 0..9)`);
    }
    y[i] = label;
    const out = i * PIXELS;
    for (let c = 0; c < 3; c++) {
      const plane = rec + 1 + c * PLANE;
      for (let p = 0; p < PLANE; p++) x[out + p * 3 + c] = bytes[plane + p] / 255;
    }
  }
  return { x, y, n };
}

function concatSplits(splits: Split[]): Split {
  const n = splits.reduce((a, s) => a + s.n, 0);
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let at = 0;
  for (const s of splits) {
    x.set(s.x, at * PIXELS);
    y.set(s.y, at);
    at += s.n;
  }
  return { x, y, n };
}
