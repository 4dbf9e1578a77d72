import * as tf from '@tensorflow/tfjs';
import { LayerSeeds } from './init.js';
import { checkOptions, type ModelOptions } from './options.js';

export interface MlpOptions extends ModelOptions {
  /** Units of each hidden ReLU layer. Default [256, 256] (protocol mlp-mnist10k). */
  hidden?: number[];
}

/** The most parameters `mlp` builds: 2^28 (1 GiB of float32, before optimizer state). */
export const MAX_MLP_PARAMETERS = 2 ** 28;

/**
 * Multilayer perceptron: [Flatten when the input is not rank 1], Dense + ReLU for each hidden
 * size (fc1, fc2, ...), Dense `logits`, then `softmax`. Kernels Glorot-uniform (seeded),
 * biases zero.
 */
export function mlp(opts: MlpOptions): tf.Sequential {
  checkOptions('mlp', opts);
  const hidden = opts.hidden ?? [256, 256];
  if (!hidden.every((u) => Number.isInteger(u) && u > 0)) {
    throw new RangeError(`mlp: hidden sizes must be positive integers, got [${hidden.join(', ')}]`);
  }
  let params = 0;
  let fanIn = opts.inputShape.reduce((x, y) => x * y, 1);
  for (const units of [...hidden, opts.numClasses]) {
    params += fanIn * units + units;
    fanIn = units;
  }
  if (params > MAX_MLP_PARAMETERS) {
    throw new RangeError(
      `mlp: hidden sizes [${hidden.join(', ')}] make ${params.toExponential(2)} parameters, ` +
        `more than the ${MAX_MLP_PARAMETERS.toLocaleString('en-US')} (1 GiB of float32) an MLP may have`,
    );
  }
  const seeds = new LayerSeeds(opts.seed ?? 0);
  const model = tf.sequential({ name: 'mlp' });
  const flat = opts.inputShape.length === 1;
  if (!flat) model.add(tf.layers.flatten({ name: 'flatten', inputShape: opts.inputShape }));
  hidden.forEach((units, k) => {
    model.add(
      tf.layers.dense({
        name: `fc${k + 1}`,
        units,
        activation: 'relu',
        kernelInitializer: seeds.glorotUniform(),
        biasInitializer: 'zeros',
        ...(flat && k === 0 ? { inputShape: opts.inputShape } : {}),
      }),
    );
  });
  model.add(
    tf.layers.dense({
      name: 'logits',
      units: opts.numClasses,
      kernelInitializer: seeds.glorotUniform(),
      biasInitializer: 'zeros',
      ...(flat && hidden.length === 0 ? { inputShape: opts.inputShape } : {}),
    }),
  );
  model.add(tf.layers.activation({ name: 'softmax', activation: 'softmax' }));
  return model;
}
