/** The data side of a run: fixed subsets (`limitTrain` / `limitTest`) and dataset facts. */
import { mixSeed, mulberry32, permutation } from '../util/random.js';
import { crc32 } from '../export/crc32.js';
import { DataError, sampleSize, type Dataset, type Split } from '../data/types.js';
import type { DatasetInfo } from './metrics.js';

/** Seed of the subset draw: fixed, so every seed and method sees the same samples. */
const SUBSET_SEED = 0x5eed5;

/**
 * `split` cut to `limit` samples (0 = all): a fixed random subset (independent of the run's
 * seed), kept in file order. Asking for more samples than the split holds is an error.
 */
export function limitSplit(
  split: Split,
  inputShape: readonly number[],
  limit: number,
  what: string,
): Split {
  if (limit === 0 || limit === split.n) return split;
  if (limit > split.n) {
    throw new DataError(`${what}: asked for ${limit} samples, the split holds ${split.n}`);
  }
  const size = sampleSize(inputShape);
  const keep = permutation(split.n, mulberry32(mixSeed(SUBSET_SEED, split.n)))
    .subarray(0, limit)
    .sort();
  const x = new Float32Array(limit * size);
  const y = new Int32Array(limit);
  keep.forEach((i, k) => {
    x.set(split.x.subarray(i * size, (i + 1) * size), k * size);
    y[k] = split.y[i];
  });
  return { x, y, n: limit };
}

/** `dataset` with its splits cut to the limits (0 = all). */
export function limitDataset(dataset: Dataset, limitTrain: number, limitTest: number): Dataset {
  if (limitTrain === 0 && limitTest === 0) return dataset;
  return {
    ...dataset,
    train: limitSplit(dataset.train, dataset.inputShape, limitTrain, '--limit-train'),
    test: limitSplit(dataset.test, dataset.inputShape, limitTest, '--limit-test'),
  };
}

export function datasetInfo(d: Dataset): DatasetInfo {
  return {
    name: d.name,
    trainSamples: d.train.n,
    testSamples: d.test.n,
    inputShape: [...d.inputShape],
    numClasses: d.numClasses,
    fingerprint: datasetFingerprint(d),
  };
}

/**
 * What identifies the samples of a dataset: the split sizes and the CRC-32 of their features
 * and labels, e.g. `8004x784/1996x784 crc32 1a2b3c4d`. Two datasets with the same
 * fingerprint hold the same numbers in the same order (up to a CRC collision).
 */
export function datasetFingerprint(d: Dataset): string {
  const bytes = (a: Float32Array | Int32Array) =>
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let crc = 0;
  for (const s of [d.train, d.test]) crc = crc32(bytes(s.y), crc32(bytes(s.x), crc));
  const size = d.inputShape.reduce((a, b) => a * b, 1);
  return `${d.train.n}x${size}/${d.test.n}x${size} crc32 ${crc.toString(16).padStart(8, '0')}`;
}

/**
 * Throws a DataError when a dataset cannot be trained on: an empty split, a feature that is
 * not a finite float32 (NaN, or a value like 1e39 beyond float32's range), a label outside
 * [0, numClasses), or fewer than 2 classes present.
 */
export function checkDataset(d: Dataset): void {
  if (d.train.n === 0) throw new DataError(`${d.name}: the train split is empty`);
  if (d.test.n === 0) throw new DataError(`${d.name}: the test split is empty`);
  const size = d.inputShape.reduce((a, b) => a * b, 1);
  const present = new Set<number>();
  for (const [what, s] of [
    ['train', d.train],
    ['test', d.test],
  ] as const) {
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i])) {
        throw new DataError(
          `${d.name}: ${what} sample ${Math.floor(i / size)} holds ${s.x[i]} (feature ${i % size}): ` +
            'every value must be a finite float32',
        );
      }
    }
    for (let i = 0; i < s.n; i++) {
      const y = s.y[i];
      if (!(y >= 0 && y < d.numClasses)) {
        throw new DataError(
          `${d.name}: ${what} sample ${i} has label ${y}, outside the ${d.numClasses} classes 0..${d.numClasses - 1}`,
        );
      }
      present.add(y);
    }
  }
  if (present.size < 2) {
    throw new DataError(
      `${d.name}: needs at least 2 classes, the labels hold ${present.size === 0 ? 'none' : `only class ${[...present][0]}`}`,
    );
  }
}

/**
 * The class count of a dataset whose loader took it as "largest label + 1" (CSV, IDX):
 * `numClasses` when the caller gives one (every label must be below it), else the labels
 * must cover 0..max without a gap. A stray label (200 among 0..2) is refused, naming it,
 * instead of silently building a 201-class model. Returns the dataset with that count.
 */
export function resolveClasses(d: Dataset, numClasses = 0): Dataset {
  const present = new Set<number>();
  let max = -1;
  let maxAt = '';
  for (const [what, s] of [
    ['train', d.train],
    ['test', d.test],
  ] as const) {
    for (let i = 0; i < s.n; i++) {
      const y = s.y[i];
      present.add(y);
      if (y > max) {
        max = y;
        maxAt = `${what} sample ${i}`;
      }
    }
  }
  if (numClasses > 0) {
    if (max >= numClasses) {
      throw new DataError(
        `${d.name}: label ${max} (${maxAt}) is out of range for --num-classes ${numClasses} (classes 0..${numClasses - 1})`,
      );
    }
    return numClasses === d.numClasses ? d : { ...d, numClasses };
  }
  // A loader that fixes the class count (mnist, cifar10: 10) may see some classes absent.
  if (d.numClasses === max + 1 && present.size < max + 1) {
    const missing: number[] = [];
    for (let c = 0; c <= max && missing.length < 4; c++) if (!present.has(c)) missing.push(c);
    const more = max + 1 - present.size > missing.length ? ', ...' : '';
    throw new DataError(
      `${d.name}: the labels go up to ${max} (${maxAt}) but classes ${missing.join(', ')}${more} ` +
        `never occur: is label ${max} out of range? (--num-classes N trains N classes anyway)`,
    );
  }
  return d;
}
