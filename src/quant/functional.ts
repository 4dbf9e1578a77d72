/** Whole-tensor helpers: quantize a weight tensor of any shape under a granularity. */
import * as tf from '@tensorflow/tfjs';
import { Granularity, groupView, levelsToRows } from './grouping.js';
import { Quantizer } from './quantizer.js';

/**
 * Quantize `w` (any shape) with `quantizer` at `bits`, grouped by `granularity`.
 * Returns `q` (w's shape) and the levels as rows `[groups, k]`, ascending.
 */
export function quantizeTensor(
  quantizer: Quantizer,
  w: tf.Tensor,
  bits: number,
  granularity: Granularity = { kind: 'tensor' },
): { q: tf.Tensor; levels: tf.Tensor2D } {
  const g = groupView(w.shape, granularity);
  return tf.tidy(() => {
    const { q, Q } = quantizer.quantize(tf.reshape(w, g.view) as tf.Tensor3D, bits);
    return { q: tf.reshape(q, w.shape), levels: levelsToRows(Q) };
  });
}
