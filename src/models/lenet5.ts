import * as tf from '@tensorflow/tfjs';
import { LayerSeeds } from './init.js';
import { checkOptions, type ModelOptions } from './options.js';

/**
 * LeNet-5 (modern variant) for any H x W x C input with H, W >= 12:
 * conv1 6@5x5 same + ReLU, max-pool 2, conv2 16@5x5 valid + ReLU, max-pool 2, flatten,
 * fc1 120 + ReLU, fc2 84 + ReLU, `logits` numClasses, `softmax`.
 * Kernels Glorot-uniform (seeded), biases zero. 61,706 parameters at 28x28x1, 10 classes.
 */
export function lenet5(opts: ModelOptions): tf.Sequential {
  checkOptions('lenet5', opts, 3);
  const [h, w] = opts.inputShape;
  if (h < 12 || w < 12) {
    throw new RangeError(`lenet5: needs inputs of at least 12x12, got ${h}x${w}`);
  }
  const seeds = new LayerSeeds(opts.seed ?? 0);
  const conv = (name: string, filters: number, padding: 'same' | 'valid') =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: 5,
      padding,
      activation: 'relu',
      kernelInitializer: seeds.glorotUniform(),
      biasInitializer: 'zeros',
    });
  const dense = (name: string, units: number, activation?: 'relu') =>
    tf.layers.dense({
      name,
      units,
      activation,
      kernelInitializer: seeds.glorotUniform(),
      biasInitializer: 'zeros',
    });
  return tf.sequential({
    name: 'lenet5',
    layers: [
      tf.layers.inputLayer({ name: 'input', inputShape: opts.inputShape }),
      conv('conv1', 6, 'same'),
      tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      conv('conv2', 16, 'valid'),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tf.layers.flatten({ name: 'flatten' }),
      dense('fc1', 120, 'relu'),
      dense('fc2', 84, 'relu'),
      dense('logits', opts.numClasses),
      tf.layers.activation({ name: 'softmax', activation: 'softmax' }),
    ],
  });
}
