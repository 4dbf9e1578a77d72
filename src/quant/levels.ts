/**
 * Where a weight sits among its levels, as tfjs ops on a view `[A, M, C]` with
 * levels `Q: [A, k, C]` (ascending along axis 1). Indices are counts of levels
 * (or midpoints) strictly below the weight, as `torch.bucketize(right=False)`;
 * values are gathered from Q, so a quantized weight equals its level exactly.
 */
import * as tf from '@tensorflow/tfjs';

/** Count, per weight, how many of `bounds: [A, j, C]` lie strictly below it; int32 `[A, M, C]`. */
export function countBelow(p: tf.Tensor3D, bounds: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    // [A, M, C, j] summed over its last axis: summing over an inner axis transposes the
    // bool->int32 cast first, which tfjs-backend-webgpu 4.22 miscompiles (all zeros).
    const bounded = tf.expandDims(tf.transpose(bounds, [0, 2, 1]), 1);
    const above = tf.greater(tf.expandDims(p, 3), bounded);
    return tf.sum(tf.cast(above, 'int32'), 3) as tf.Tensor3D;
  });
}

/** `Q[a, idx[a, m, c], c]` for int32 indices `idx: [A, M, C]`. */
export function gatherLevels(Q: tf.Tensor3D, idx: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [A, k, C] = Q.shape;
    const flatQ = tf.reshape(Q, [A * k * C]);
    let flat: tf.Tensor = idx;
    if (C > 1) flat = tf.add(tf.mul(flat, tf.scalar(C, 'int32')), tf.range(0, C, 1, 'int32'));
    if (A > 1) flat = tf.add(flat, tf.reshape(tf.range(0, A * k * C, k * C, 'int32'), [A, 1, 1]));
    return tf.gather(flatQ, flat) as tf.Tensor3D;
  });
}

/** Midpoints between consecutive levels, `[A, k - 1, C]`. */
export function midpoints(Q: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const k = Q.shape[1];
    const lower = tf.slice(Q, [0, 0, 0], [-1, k - 1, -1]);
    const upper = tf.slice(Q, [0, 1, 0], [-1, k - 1, -1]);
    return tf.mul(tf.add(lower, upper), 0.5) as tf.Tensor3D;
  });
}

/** Hard quantization: each weight's nearest level (ties go to the lower level). */
export function nearestLevel(p: tf.Tensor3D, Q: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    if (Q.shape[1] === 1) return tf.add(tf.zerosLike(p), Q) as tf.Tensor3D;
    return gatherLevels(Q, countBelow(p, midpoints(Q)));
  });
}

/**
 * The levels bracketing each weight: `lower <= p <= upper` inside the range,
 * both the end level outside it.
 */
export function bracketLevels(
  p: tf.Tensor3D,
  Q: tf.Tensor3D,
): { lower: tf.Tensor3D; upper: tf.Tensor3D } {
  return tf.tidy(() => {
    const k = Q.shape[1];
    const idx = countBelow(p, Q);
    const int = (n: number) => tf.scalar(n, 'int32');
    const lower = gatherLevels(Q, tf.maximum(tf.sub(idx, int(1)), int(0)) as tf.Tensor3D);
    const upper = gatherLevels(Q, tf.minimum(idx, int(k - 1)) as tf.Tensor3D);
    return { lower, upper };
  });
}
