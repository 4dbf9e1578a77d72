/** The data side of a run: fixed subsets (`limitTrain` / `limitTest`) and dataset facts. */
import { mixSeed, mulberry32, permutation } from '../util/random.js';
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
  };
}

/** Throws a DataError when a dataset cannot be trained on (an empty split, one class). */
export function checkDataset(d: Dataset): void {
  if (d.train.n === 0) throw new DataError(`${d.name}: the train split is empty`);
  if (d.test.n === 0) throw new DataError(`${d.name}: the test split is empty`);
  if (d.numClasses < 2) {
    throw new DataError(`${d.name}: needs at least 2 classes, the labels hold ${d.numClasses}`);
  }
}
