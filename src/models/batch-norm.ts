// tfjs-layers' BatchNormalization with its training step as one fused op
// (src/backend/batch-norm-training.ts) where the backend has the fused kernels (wasm with
// parq-ts's kernels). Everything else is the stock layer's: the same class name, config,
// weights (gamma, beta, moving_mean, moving_variance) and moving-average update, inference,
// and the stock training path on every other backend. A saved model is a plain tfjs
// BatchNormalization; this class is registered under that name, so a model loaded while
// parq-ts is imported trains fused too.
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, hasFusedBatchNormTraining } from '../backend/batch-norm-training.js';

/** The stock layer's class (tfjs-layers exports only the factory). */
const StockBatchNormalization = tf.layers.batchNormalization({}).constructor as new (
  args?: Parameters<typeof tf.layers.batchNormalization>[0],
) => tf.layers.Layer;

/** The stock layer's private state this class reads (same names as tfjs-layers 4.x). */
interface BatchNormState {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

export class TrainingBatchNormalization extends StockBatchNormalization {
  static className = 'BatchNormalization';

  /** Whether a training call on this input goes to the fused op. */
  private fusable(input: tf.Tensor): boolean {
    const s = this as unknown as BatchNormState;
    const axis = s.axis < 0 ? s.axis + input.rank : s.axis;
    return (
      input.rank >= 2 &&
      axis === input.rank - 1 &&
      s.center &&
      s.scale &&
      input.dtype === 'float32' &&
      hasFusedBatchNormTraining()
    );
  }

  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[] {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    if (
      !kwargs['training'] ||
      (Array.isArray(inputs) && inputs.length !== 1) ||
      !this.fusable(input)
    ) {
      return super.call(inputs, kwargs);
    }
    const s = this as unknown as BatchNormState;
    return tf.tidy(() => {
      const [y, mean, variance] = batchNormTraining(
        input,
        s.gamma.read() as tf.Tensor1D,
        s.beta.read() as tf.Tensor1D,
        s.epsilon,
      );
      // the stock layer's update: moving = moving - (moving - batch) * (1 - momentum)
      for (const [variable, value] of [
        [s.movingMean, mean],
        [s.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - s.momentum)));
        });
      }
      return y;
    });
  }
}
tf.serialization.SerializationMap.register(
  TrainingBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>,
);

/** A BatchNormalization layer (tf.layers.batchNormalization's arguments), fused in training. */
export function batchNormalization(
  args: Parameters<typeof tf.layers.batchNormalization>[0],
): tf.layers.Layer {
  return new TrainingBatchNormalization(args);
}
