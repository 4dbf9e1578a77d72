import * as tf from '@tensorflow/tfjs';
import { mixSeed, mulberry32, permutation } from '../util/random.js';
import { sampleSize, type Split } from './types.js';

/**
 * The sample indices of each batch of one epoch: a permutation of 0..n-1 drawn from
 * mulberry32(mixSeed(seed, epoch)), cut into batches of `batchSize` in order; the last batch
 * holds the remainder (8,004 samples at batch 64 give 126 batches, the last of 4).
 * Same (n, batchSize, seed, epoch) → same batches, on any machine.
 */
export function batchOrder(
  n: number,
  batchSize: number,
  seed: number,
  epoch: number,
): Int32Array[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchOrder: batchSize must be a positive integer, got ${batchSize}`);
  }
  const order = permutation(n, mulberry32(mixSeed(seed, epoch)));
  const batches: Int32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    batches.push(order.subarray(start, Math.min(start + batchSize, n)));
  }
  return batches;
}

/** Options for turning labels into a tensor. */
export interface LabelOptions {
  /**
   * Give one-hot float32 labels [n, oneHot] (for 'categoricalCrossentropy').
   * Default: float32 class ids [n] (for 'sparseCategoricalCrossentropy', which floors them).
   */
  oneHot?: number;
}

/** The samples `indices` of `split` as tensors: x [b, ...inputShape] float32 and labels. */
export function gatherBatch(
  split: Split,
  indices: ArrayLike<number>,
  inputShape: readonly number[],
  opts: LabelOptions = {},
): { x: tf.Tensor; y: tf.Tensor } {
  const size = sampleSize(inputShape);
  const b = indices.length;
  const x = new Float32Array(b * size);
  const ids = new Int32Array(b);
  for (let k = 0; k < b; k++) {
    const i = indices[k];
    x.set(split.x.subarray(i * size, (i + 1) * size), k * size);
    ids[k] = split.y[i];
  }
  return { x: tf.tensor(x, [b, ...inputShape], 'float32'), y: labelTensor(ids, opts) };
}

/** A whole split as tensors (x [n, ...inputShape] float32, labels as in `gatherBatch`). */
export function toTensors(
  split: Split,
  inputShape: readonly number[],
  opts: LabelOptions = {},
): { x: tf.Tensor; y: tf.Tensor } {
  const size = sampleSize(inputShape);
  const x = tf.tensor(split.x.subarray(0, split.n * size), [split.n, ...inputShape], 'float32');
  return { x, y: labelTensor(split.y.subarray(0, split.n), opts) };
}

function labelTensor(ids: Int32Array, opts: LabelOptions): tf.Tensor {
  if (opts.oneHot === undefined) return tf.tensor1d(Float32Array.from(ids), 'float32');
  const depth = opts.oneHot;
  for (const id of ids) {
    if (id < 0 || id >= depth)
      throw new RangeError(`label ${id} is outside one-hot depth ${depth}`);
  }
  const oneHot = new Float32Array(ids.length * depth);
  for (let k = 0; k < ids.length; k++) oneHot[k * depth + ids[k]] = 1;
  return tf.tensor2d(oneHot, [ids.length, depth], 'float32');
}
