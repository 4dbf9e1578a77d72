/**
 * ADMM's z-update as pure tfjs functions: given v = x + λ/ρ and its hard
 * projection p = Proj(v) (each weight's nearest level), the three variants
 * return the new z. Each returns a new tensor; inputs are not modified.
 *
 * - hard (ADMM-Q): z = p
 * - soft (ADMM-S): z = p where ‖p − v‖ ≤ r, else v + r (p − v)/‖p − v‖, with
 *   r = β/ρ; the norm is over the whole tensor ('tensor') or per weight ('element')
 * - random (ADMM-R): z_i = p_i with probability `prob`, else the previous z_i
 *   (skip 'keep') or v_i (skip 'unprojected'); the mask comes from
 *   tf.randomUniform with the given seed, so it stays on the device and repeats
 */
import * as tf from '@tensorflow/tfjs';

export type SoftNorm = 'tensor' | 'element';
export type RandomSkip = 'keep' | 'unprojected';

/** ADMM-S: a step of length at most `radius` (β/ρ) from v toward p. */
export function softProjection(
  v: tf.Tensor,
  p: tf.Tensor,
  radius: number,
  norm: SoftNorm = 'tensor',
): tf.Tensor {
  if (!(radius >= 0))
    throw new Error(`soft projection: radius (beta / rho) must be >= 0, got ${radius}`);
  return tf.tidy(() => {
    const d = tf.sub(p, v);
    const r = tf.scalar(radius);
    if (norm === 'element') {
      const within = tf.lessEqual(tf.abs(d), r);
      return tf.where(within, p, tf.add(v, tf.mul(tf.sign(d), r)));
    }
    const dist = tf.sqrt(tf.sum(tf.square(d)));
    // dist = 0 selects p (0 <= r), so the unselected 0 * Infinity never shows.
    const within = tf.broadcastTo(tf.lessEqual(dist, r), v.shape);
    return tf.where(within, p, tf.add(v, tf.mul(d, tf.div(r, dist))));
  });
}

/** ADMM-R: take p where a seeded uniform draw is below `prob`, else keep z (or v). */
export function randomProjection(
  v: tf.Tensor,
  p: tf.Tensor,
  z: tf.Tensor,
  prob: number,
  seed: number,
  skip: RandomSkip = 'keep',
): tf.Tensor {
  if (!(prob >= 0 && prob <= 1))
    throw new Error(`random projection: p must be in [0, 1], got ${prob}`);
  // Exact at the ends (a float32 draw can round up to 1.0).
  if (prob >= 1) return tf.clone(p);
  if (prob <= 0) return tf.clone(skip === 'keep' ? z : v);
  return tf.tidy(() => {
    // tf.randomUniform treats seed 0 as "unseeded": never pass it.
    const u = tf.randomUniform(p.shape, 0, 1, 'float32', seed === 0 ? 0x9e3779b9 : seed);
    const take = tf.less(u, tf.scalar(prob));
    return tf.where(take, p, skip === 'keep' ? z : v);
  });
}
