/** Whole-tensor helper: apply a prox map to a weight tensor of any shape. */
import * as tf from '@tensorflow/tfjs';
import { Granularity, groupView, rowsToLevels } from '../quant/grouping.js';
import { ProxMap } from './proxmap.js';

/**
 * Apply `prox` at `step` to `w` (any shape) with levels `levels` as rows
 * `[groups, k]` (or `[k]` per tensor). Returns a new tensor of w's shape.
 */
export function proxTensor(
  prox: ProxMap,
  w: tf.Tensor,
  levels: tf.Tensor,
  step: number,
  granularity: Granularity = { kind: 'tensor' },
): tf.Tensor {
  const g = groupView(w.shape, granularity);
  return tf.tidy(() => {
    const rows = (levels.rank === 1 ? tf.expandDims(levels, 0) : levels) as tf.Tensor2D;
    if (rows.shape[0] !== g.numGroups) {
      throw new Error(`levels have ${rows.shape[0]} rows, the weights have ${g.numGroups} groups`);
    }
    const p = tf.reshape(w, g.view) as tf.Tensor3D;
    const out = prox.apply(p, null, rowsToLevels(rows, g), step);
    return out ? tf.reshape(out, w.shape) : tf.clone(w);
  });
}
