// The three networks of bench/backends.mjs, as plain tfjs-layers models with seeded
// initializers (kept here so the benchmark does not depend on src/models).
import * as tf from '@tensorflow/tfjs';

let seed = 1;
const init = () => tf.initializers.glorotUniform({ seed: seed++ });

/** MLP 784-256-256-10 (input [784]). */
export function mlp() {
  seed = 1;
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [784],
        units: 256,
        activation: 'relu',
        kernelInitializer: init(),
      }),
      tf.layers.dense({ units: 256, activation: 'relu', kernelInitializer: init() }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }),
    ],
  });
}

/**
 * LeNet-5 (input [28, 28, 1]): conv 6@5x5 same + ReLU + 2x2 pool, conv 16@5x5 valid + ReLU
 * + 2x2 pool, dense 120, 84, 10. `pool`: 'max' (default) or 'avg'.
 */
export function lenet5(pool = 'max') {
  seed = 1;
  const Pool = pool === 'avg' ? tf.layers.averagePooling2d : tf.layers.maxPooling2d;
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 6,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(),
      }),
      Pool({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({
        filters: 16,
        kernelSize: 5,
        padding: 'valid',
        activation: 'relu',
        kernelInitializer: init(),
      }),
      Pool({ poolSize: 2, strides: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: 'relu', kernelInitializer: init() }),
      tf.layers.dense({ units: 84, activation: 'relu', kernelInitializer: init() }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }),
    ],
  });
}

function convBn(x, filters, kernelSize, strides) {
  const y = tf.layers
    .conv2d({
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(),
    })
    .apply(x);
  return tf.layers.batchNormalization({ axis: -1 }).apply(y);
}

function basicBlock(x, filters, strides) {
  let y = tf.layers.reLU().apply(convBn(x, filters, 3, strides));
  y = convBn(y, filters, 3, 1);
  const inFilters = x.shape[x.shape.length - 1];
  const shortcut = strides !== 1 || inFilters !== filters ? convBn(x, filters, 1, strides) : x;
  return tf.layers.reLU().apply(tf.layers.add().apply([y, shortcut]));
}

/**
 * ResNet-20 for CIFAR-10 (input [32, 32, 3]): conv 16@3x3 + BN + ReLU, 3 stages of 3 basic
 * blocks with 16/32/64 filters (stride 2 at the start of stages 2 and 3, shortcut = 1x1
 * conv + BN where the shape changes), global average pooling, dense 10.
 */
export function resnet20() {
  seed = 1;
  const input = tf.input({ shape: [32, 32, 3] });
  let x = tf.layers.reLU().apply(convBn(input, 16, 3, 1));
  for (const [filters, firstStride] of [
    [16, 1],
    [32, 2],
    [64, 2],
  ]) {
    for (let b = 0; b < 3; b++) x = basicBlock(x, filters, b === 0 ? firstStride : 1);
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x);
  const output = tf.layers
    .dense({ units: 10, activation: 'softmax', kernelInitializer: init() })
    .apply(x);
  return tf.model({ inputs: input, outputs: output });
}

/** name -> [factory, input shape without batch]. */
export const MODELS = {
  mlp: [mlp, [784]],
  lenet5: [lenet5, [28, 28, 1]],
  'lenet5-avg': [() => lenet5('avg'), [28, 28, 1]],
  resnet20: [resnet20, [32, 32, 3]],
};
