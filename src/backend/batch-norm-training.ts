// Batch normalization in training mode as one op: y = (x - mean) / sqrt(var + eps) * gamma
// + beta, with mean and (biased) variance of x over every axis but the last, returned too
// (the layer updates its moving averages with them).
//
// tfjs-layers composes this from moments() and batchNorm(): on the wasm backend a ResNet-20
// step then spends more time in batch norm's ~25 elementwise kernels and their gradients
// (Sub, Square, Mean, Multiply, Tile, Identity copies, ...) than in some convolutions. Where
// the current backend has the fused kernels (BATCH_NORM_TRAINING and its gradient,
// registered by parq-ts for wasm: ./wasm/batch-norm-training.ts), the op is one kernel
// forward (two passes over x) and one backward (two passes over dy and x); on any other
// backend it is the same composition tfjs-layers uses, so results there do not change.
//
// Gradient (N values a channel, xc = x - mean, s = 1 / sqrt(var + eps)):
//   dbeta = sum dy, dgamma = s * sum dy * xc,
//   dx = gamma * s * dy - gamma * s^3 * xc * (sum dy * xc) / N - gamma * s * (sum dy) / N
//        + dmean / N + 2 * dvar * xc / N
// (the last two terms from the mean and variance outputs, zero when only y is used).
import * as tf from '@tensorflow/tfjs';

/** The forward kernel: inputs x, gamma, beta; attr epsilon; outputs y, mean, variance. */
export const BATCH_NORM_TRAINING = 'ParqBatchNormTraining';
/**
 * Its gradient: inputs dy, x, gamma, mean, variance, dmean, dvariance; attr epsilon;
 * outputs dx, dgamma, dbeta.
 */
export const BATCH_NORM_TRAINING_GRAD = 'ParqBatchNormTrainingGrad';

export interface BatchNormTrainingAttrs {
  epsilon: number;
}

/** Whether the current backend runs batch norm training as one fused kernel. */
export function hasFusedBatchNormTraining(): boolean {
  const backend = tf.getBackend();
  return (
    tf.getKernel(BATCH_NORM_TRAINING, backend) != null &&
    tf.getKernel(BATCH_NORM_TRAINING_GRAD, backend) != null
  );
}

/**
 * Training-mode batch norm of x over all axes but the last: [y, mean, variance]. gamma and
 * beta have the last axis's size. Fused where the backend has the kernels, else composed as
 * tfjs-layers does (moments, then batchNorm).
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const channels = x.shape[x.rank - 1];
  if (x.rank < 2 || gamma.size !== channels || beta.size !== channels) {
    throw new Error(
      `batchNormTraining: x ${JSON.stringify(x.shape)} needs gamma and beta of ${channels} values (got ${gamma.size} and ${beta.size})`,
    );
  }
  if (hasFusedBatchNormTraining()) {
    const attrs: BatchNormTrainingAttrs = { epsilon };
    return tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAINING,
        { x, gamma, beta },
        attrs as unknown as tf.NamedAttrMap,
      ) as unknown as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  }
  return tf.tidy(() => {
    const axes = [...Array(x.rank - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    return [
      tf.batchNorm(x, mean, variance, beta, gamma, epsilon),
      mean as tf.Tensor1D,
      variance as tf.Tensor1D,
    ];
  });
}

/**
 * The gradient as tfjs ops: [dx, dgamma, dbeta] (the formula above). Used where the backend
 * has the forward kernel but not the gradient's, and by the tests as the oracle.
 */
export function batchNormTrainingGradOps(
  dy: tf.Tensor,
  x: tf.Tensor,
  gamma: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  dmean: tf.Tensor,
  dvariance: tf.Tensor,
  epsilon: number,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const axes = [...Array(x.rank - 1).keys()];
    const n = x.size / x.shape[x.rank - 1];
    const s = tf.rsqrt(tf.add(variance, epsilon));
    const xc = tf.sub(x, mean);
    const sdy = tf.sum(dy, axes);
    const sdyx = tf.sum(tf.mul(dy, xc), axes);
    const gs = tf.mul(gamma, s);
    const a = gs;
    const b = tf.add(
      tf.mul(tf.mul(tf.neg(gs), tf.square(s)), tf.div(sdyx, n)),
      tf.mul(dvariance, 2 / n),
    );
    const c = tf.add(tf.mul(tf.neg(gs), tf.div(sdy, n)), tf.div(dmean, n));
    const dx = tf.add(tf.add(tf.mul(dy, a), tf.mul(xc, b)), c);
    return [dx, tf.mul(sdyx, s), sdy];
  });
}

tf.registerGradient({
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy, dmean, dvariance] = dys as tf.Tensor[];
    const [x, gamma, mean, variance] = saved;
    const { epsilon } = attrs as unknown as BatchNormTrainingAttrs;
    const [dx, dgamma, dbeta] =
      tf.getKernel(BATCH_NORM_TRAINING_GRAD, tf.getBackend()) != null
        ? (tf
            .engine()
            .runKernel(
              BATCH_NORM_TRAINING_GRAD,
              { dy, x, gamma, mean, variance, dmean, dvariance },
              attrs,
            ) as unknown as tf.Tensor[])
        : batchNormTrainingGradOps(dy, x, gamma, mean, variance, dmean, dvariance, epsilon);
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
});
