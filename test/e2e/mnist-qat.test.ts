import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { LSBQuantizer, ProxPARQ, QuantOptimizer } from '../../src/index.js';
import { loadDataset, toTensors } from '../../src/data/index.js';
import { mlp, MODEL_LOSS } from '../../src/models/index.js';
import { distinct, useBackend } from '../helpers.js';

beforeAll(() => useBackend('wasm'));

it('an MLP trained with model.fit and 2-bit PARQ on MNIST ends on 4 levels per kernel, far above chance', async () => {
  const data = loadDataset('mnist');
  const train = toTensors(data.train, data.inputShape);
  const test = toTensors(data.test, data.inputShape);
  const model = mlp({ inputShape: data.inputShape, numClasses: 10, hidden: [128], seed: 1 });
  const epochs = 2;
  const steps = epochs * Math.ceil(data.train.n / 64);
  const opt = new QuantOptimizer({
    base: tf.train.momentum(0.05, 0.9),
    quantizer: new LSBQuantizer(),
    prox: new ProxPARQ({ annealStart: 0, annealEnd: Math.floor(0.9 * steps) }),
    bits: 2,
    lrSchedule: { kind: 'cosine', lr: 0.05, totalSteps: steps },
  });
  model.compile({ optimizer: opt, loss: MODEL_LOSS, metrics: ['acc'] });
  await model.fit(train.x, train.y, { batchSize: 64, epochs, verbose: 0, shuffle: true });
  const [, acc] = model.evaluate(test.x, test.y, { batchSize: 500 }) as tf.Scalar[];
  const accuracy = acc.dataSync()[0];
  const kernels = model.weights.filter((w) => w.originalName.endsWith('kernel'));
  expect(kernels.length).toBe(2);
  for (const k of kernels) expect(distinct(k.read().dataSync())).toBeLessThanOrEqual(4);
  // chance is 10%; two epochs of 2-bit QAT land near 90%
  expect(accuracy).toBeGreaterThan(0.75);
  tf.dispose([train.x, train.y, test.x, test.y]);
});
