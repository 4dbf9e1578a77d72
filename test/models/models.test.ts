import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildModel,
  lenet5,
  logitsModel,
  mlp,
  MODEL_LOSS,
  resnet20,
} from '../../src/models/index.js';

const trainable = (m: tf.LayersModel) =>
  m.trainableWeights.reduce(
    (a, w) => a + w.shape.reduce((p: number, q) => p * (q as number), 1),
    0,
  );

const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

const models: tf.LayersModel[] = [];
const keep = <M extends tf.LayersModel>(m: M): M => {
  models.push(m);
  return m;
};
afterEach(() => {
  while (models.length) models.pop()!.dispose();
});

describe('mlp', () => {
  it('is 784-256-256-10 by default, flattening image inputs', () => {
    const m = keep(mlp({ inputShape: [28, 28, 1], numClasses: 10 }));
    expect(m.layers.map((l) => l.name)).toEqual(['flatten', 'fc1', 'fc2', 'logits', 'softmax']);
    expect(m.outputs[0].shape).toEqual([null, 10]);
    expect(trainable(m)).toBe(784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
  });

  it('takes rank-1 inputs without a Flatten, and any hidden sizes', () => {
    const m = keep(mlp({ inputShape: [5], numClasses: 3, hidden: [7] }));
    expect(m.layers.map((l) => l.name)).toEqual(['fc1', 'logits', 'softmax']);
    expect(trainable(m)).toBe(5 * 7 + 7 + 7 * 3 + 3);
    const linear = keep(mlp({ inputShape: [5], numClasses: 3, hidden: [] }));
    expect(linear.layers.map((l) => l.name)).toEqual(['logits', 'softmax']);
  });

  it('has Glorot-uniform kernels and zero biases', () => {
    const m = keep(mlp({ inputShape: [784], numClasses: 10, seed: 3 }));
    const [k1, b1] = m.getLayer('fc1').getWeights();
    const limit = Math.sqrt(6 / (784 + 256));
    const k = k1.dataSync() as Float32Array;
    const max = k.reduce((a, v) => Math.max(a, v), -Infinity);
    const min = k.reduce((a, v) => Math.min(a, v), Infinity);
    expect(max).toBeLessThanOrEqual(limit);
    expect(min).toBeGreaterThanOrEqual(-limit);
    expect(max).toBeGreaterThan(0.99 * limit);
    // uniform on [-l, l]: variance l^2 / 3
    const variance = k.reduce((a, v) => a + v * v, 0) / k.length;
    expect(variance).toBeCloseTo((limit * limit) / 3, 4);
    expect(Array.from(b1.dataSync()).every((v) => v === 0)).toBe(true);
  });
});

describe('lenet5', () => {
  it('has 61,706 parameters at 28x28x1 and the documented layers', () => {
    const m = keep(lenet5({ inputShape: [28, 28, 1], numClasses: 10 }));
    expect(trainable(m)).toBe(61706);
    expect(m.countParams()).toBe(61706);
    expect(m.getLayer('conv1').outputShape).toEqual([null, 28, 28, 6]);
    expect(m.getLayer('conv2').outputShape).toEqual([null, 10, 10, 16]);
    expect(m.getLayer('flatten').outputShape).toEqual([null, 400]);
    expect(m.outputs[0].shape).toEqual([null, 10]);
  });

  it('takes any HxWxC input of at least 12x12', () => {
    const m = keep(lenet5({ inputShape: [32, 32, 3], numClasses: 10 }));
    expect(m.getLayer('flatten').outputShape).toEqual([null, 576]);
    expect(() => lenet5({ inputShape: [784], numClasses: 10 })).toThrow(/rank-3 input shape/);
    expect(() => lenet5({ inputShape: [8, 8, 1], numClasses: 10 })).toThrow(/at least 12x12/);
  });
});

describe('resnet20', () => {
  it('has 272,474 trainable parameters at 32x32x3 (option-B shortcuts)', () => {
    const m = keep(resnet20({ inputShape: [32, 32, 3], numClasses: 10 }));
    expect(trainable(m)).toBe(272474);
    // + the BatchNorm moving means and variances, 2 per channel of the 784 BN channels
    expect(m.countParams()).toBe(272474 + 2 * (16 + 16 * 6 + 32 * 7 + 64 * 7));
    expect(m.getLayer('s1b3_relu2').outputShape).toEqual([null, 32, 32, 16]);
    expect(m.getLayer('s2b1_relu2').outputShape).toEqual([null, 16, 16, 32]);
    expect(m.getLayer('s3b3_relu2').outputShape).toEqual([null, 8, 8, 64]);
    expect(m.getLayer('pool').outputShape).toEqual([null, 64]);
    expect(m.outputs[0].shape).toEqual([null, 10]);
    const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D');
    expect(convs.length).toBe(1 + 18 + 2);
    const adds = m.layers.filter((l) => l.getClassName() === 'Add');
    expect(adds.length).toBe(9);
  });

  it('runs forward on a batch and outputs probabilities', () => {
    const m = keep(resnet20({ inputShape: [32, 32, 3], numClasses: 10, seed: 1 }));
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 5);
    const p = m.predict(x) as tf.Tensor;
    expect(p.shape).toEqual([2, 10]);
    const sums = Array.from(tf.sum(p, 1).dataSync());
    sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
    tf.dispose([x, p]);
  });
});

describe('seeded initialization', () => {
  for (const name of ['mlp', 'lenet5', 'resnet20']) {
    it(`${name}: the same seed gives identical weights, another seed different ones`, () => {
      const opts = { inputShape: [32, 32, 3], numClasses: 10 };
      const a = keep(buildModel(name, { ...opts, seed: 7 }));
      const b = keep(buildModel(name, { ...opts, seed: 7 }));
      const c = keep(buildModel(name, { ...opts, seed: 8 }));
      expect(weightsOf(a)).toEqual(weightsOf(b));
      expect(weightsOf(a)).not.toEqual(weightsOf(c));
      // every kernel of a layer differs from the others (unrelated per-layer streams)
      const kernels = a.weights.filter((w) => w.originalName.endsWith('kernel'));
      const firsts = kernels.map((w) => w.read().dataSync()[0]);
      expect(new Set(firsts).size).toBe(firsts.length);
    });
  }

  it('defaults the seed to 0', () => {
    const a = keep(mlp({ inputShape: [4], numClasses: 2 }));
    const b = keep(mlp({ inputShape: [4], numClasses: 2, seed: 0 }));
    expect(weightsOf(a)).toEqual(weightsOf(b));
  });
});

describe('buildModel / logitsModel', () => {
  it('rejects unknown names and bad options', () => {
    expect(() => buildModel('vgg', { inputShape: [4], numClasses: 2 })).toThrow(
      /unknown model 'vgg' \(expected one of mlp, lenet5, resnet20, vit-tiny\)/,
    );
    expect(() => mlp({ inputShape: [4], numClasses: 1 })).toThrow(/numClasses/);
    expect(() => mlp({ inputShape: [0], numClasses: 2 })).toThrow(/bad input shape/);
    expect(() => mlp({ inputShape: [4], numClasses: 2, hidden: [0] })).toThrow(/hidden/);
  });

  it('exposes the logits that the softmax normalizes', () => {
    const m = keep(buildModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10 }));
    const l = logitsModel(m);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 1);
    const p = m.predict(x) as tf.Tensor;
    const z = l.predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(tf.softmax(z), p))).dataSync()[0];
    expect(diff).toBeLessThan(1e-6);
    expect(z.shape).toEqual([3, 10]);
    tf.dispose([x, p, z]);
  });

  it('trains with MODEL_LOSS on class-id labels', async () => {
    const m = keep(mlp({ inputShape: [4], numClasses: 3, hidden: [8], seed: 1 }));
    m.compile({ optimizer: tf.train.sgd(0.1), loss: MODEL_LOSS, metrics: ['acc'] });
    const x = tf.randomNormal([12, 4], 0, 1, 'float32', 2);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const h = await m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, shuffle: false });
    expect(h.history.loss.every((v) => Number.isFinite(v as number))).toBe(true);
    tf.dispose([x, y]);
  });
});
