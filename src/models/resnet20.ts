import * as tf from '@tensorflow/tfjs';
import { batchNormalization } from './batch-norm.js';
import { LayerSeeds } from './init.js';
import { checkOptions, type ModelOptions } from './options.js';

/** PyTorch's BatchNorm defaults (momentum 0.1 there = 0.9 here, eps 1e-5), for parity. */
const BN = { momentum: 0.9, epsilon: 1e-5 } as const;

/**
 * ResNet-20 for CIFAR (He et al. 2016, section 4.2), any H x W x C input (built for 32x32x3):
 * conv 16@3x3 + BN + ReLU; three stages of three basic blocks with 16, 32, 64 filters, the
 * first block of stages 2 and 3 with stride 2; global average pooling; `logits`; `softmax`.
 * A basic block is conv3x3-BN-ReLU-conv3x3-BN, plus a shortcut (identity, or 1x1 conv + BN
 * when the shape changes: option B), then ReLU. Convs have no bias and He-normal kernels
 * (seeded); the Dense layer is Glorot-uniform (seeded) with a zero bias.
 * 272,474 trainable parameters at 32x32x3, 10 classes.
 */
export function resnet20(opts: ModelOptions): tf.LayersModel {
  checkOptions('resnet20', opts, 3);
  const seeds = new LayerSeeds(opts.seed ?? 0);
  const conv = (name: string, filters: number, kernelSize: number, strides: number) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: seeds.heNormal(),
    });
  const bn = (name: string) => batchNormalization({ name, ...BN });
  const relu = (name: string) => tf.layers.reLU({ name });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor) =>
    layer.apply(x) as tf.SymbolicTensor;

  const input = tf.input({ name: 'input', shape: opts.inputShape });
  let x = apply(relu('stem_relu'), apply(bn('stem_bn'), apply(conv('stem_conv', 16, 3, 1), input)));
  let channels = 16;
  [16, 32, 64].forEach((filters, stage) => {
    for (let block = 0; block < 3; block++) {
      const p = `s${stage + 1}b${block + 1}`;
      const strides = stage > 0 && block === 0 ? 2 : 1;
      let y = apply(bn(`${p}_bn1`), apply(conv(`${p}_conv1`, filters, 3, strides), x));
      y = apply(
        bn(`${p}_bn2`),
        apply(conv(`${p}_conv2`, filters, 3, 1), apply(relu(`${p}_relu1`), y)),
      );
      let shortcut = x;
      if (strides !== 1 || channels !== filters) {
        shortcut = apply(bn(`${p}_proj_bn`), apply(conv(`${p}_proj`, filters, 1, strides), x));
      }
      const sum = tf.layers.add({ name: `${p}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
      x = apply(relu(`${p}_relu2`), sum);
      channels = filters;
    }
  });
  x = apply(tf.layers.globalAveragePooling2d({ name: 'pool' }), x);
  const logits = tf.layers.dense({
    name: 'logits',
    units: opts.numClasses,
    kernelInitializer: seeds.glorotUniform(),
    biasInitializer: 'zeros',
  });
  const output = apply(
    tf.layers.activation({ name: 'softmax', activation: 'softmax' }),
    apply(logits, x),
  );
  return tf.model({ name: 'resnet20', inputs: input, outputs: output });
}
