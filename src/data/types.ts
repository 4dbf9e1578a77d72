/** One split of a dataset: `n` samples, stored flat, in memory, as typed arrays. */
export interface Split {
  /** Features, sample-major: sample i occupies x[i * size .. (i + 1) * size), size = prod(inputShape). */
  x: Float32Array;
  /** Class ids in [0, numClasses). */
  y: Int32Array;
  n: number;
}

/**
 * A classification dataset held as raw typed arrays (not tensors), so batching and seeded
 * shuffling are cheap and deterministic; see `batchOrder` and `gatherBatch` to make tensors.
 */
export interface Dataset {
  name: string;
  train: Split;
  test: Split;
  /** Shape of one sample: images are [height, width, channels] (NHWC), tables are [features]. */
  inputShape: number[];
  numClasses: number;
}

/** A dataset file that is missing, truncated, or malformed; the message names file and problem. */
export class DataError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DataError';
  }
}

/** Number of values in one sample of the given shape. */
export function sampleSize(inputShape: readonly number[]): number {
  return inputShape.reduce((a, b) => a * b, 1);
}

/** Largest class id + 1 over the given label arrays (0 when all are empty). */
export function countClasses(...labels: Int32Array[]): number {
  let max = -1;
  for (const ys of labels) for (const y of ys) if (y > max) max = y;
  return max + 1;
}
