/** Test-set evaluation: mean loss and accuracy, accumulated on the device, read once. */
import * as tf from '@tensorflow/tfjs';
import { gatherBatch } from '../data/batches.js';
import type { Split } from '../data/types.js';
import { lossHead, type LossHead } from './build.js';

export interface EvalResult {
  /** Mean cross-entropy over the split. */
  loss: number;
  /** Fraction of samples whose top class is the label. */
  accuracy: number;
  samples: number;
}

export interface EvalOptions {
  /** Samples per forward pass. Default 256. */
  batchSize?: number;
  /** The loss head (default: `lossHead(model)`). */
  head?: LossHead;
}

/** Evaluates `model` (inference mode) on every sample of `split`. */
export async function evaluateModel(
  model: tf.LayersModel,
  split: Split,
  inputShape: readonly number[],
  opts: EvalOptions = {},
): Promise<EvalResult> {
  if (split.n === 0) throw new Error('evaluate: the split is empty');
  const head = opts.head ?? lossHead(model);
  const batchSize = opts.batchSize ?? 256;
  let lossSum = tf.scalar(0);
  let correct = tf.scalar(0);
  const indices = new Int32Array(split.n);
  for (let i = 0; i < split.n; i++) indices[i] = i;
  for (let start = 0; start < split.n; start += batchSize) {
    const idx = indices.subarray(start, Math.min(start + batchSize, split.n));
    const [nextLoss, nextCorrect] = tf.tidy(() => {
      const { x, y } = gatherBatch(split, idx, inputShape);
      const labels = tf.cast(y, 'int32');
      const out = head.net.predict(x) as tf.Tensor;
      const loss = tf.mul(head.loss(labels, out), idx.length);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), labels), 'float32'));
      return [tf.add(lossSum, loss), tf.add(correct, hits)];
    });
    lossSum.dispose();
    correct.dispose();
    lossSum = nextLoss as tf.Scalar;
    correct = nextCorrect as tf.Scalar;
  }
  const [l, c] = [(await lossSum.data())[0], (await correct.data())[0]];
  lossSum.dispose();
  correct.dispose();
  return { loss: l / split.n, accuracy: c / split.n, samples: split.n };
}
