import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { batchOrder, gatherBatch, toTensors, type Split } from '../../src/data/index.js';

describe('batchOrder', () => {
  it('cuts a seeded permutation into batches, keeping the partial last one', () => {
    const batches = batchOrder(8004, 64, 1, 0);
    expect(batches.length).toBe(126);
    expect(batches.slice(0, -1).every((b) => b.length === 64)).toBe(true);
    expect(batches[125].length).toBe(4);
    const all = batches.flatMap((b) => Array.from(b)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 8004 }, (_, i) => i));
  });

  it('is a function of (seed, epoch)', () => {
    const flat = (bs: Int32Array[]) => bs.flatMap((b) => Array.from(b));
    expect(flat(batchOrder(100, 8, 5, 3))).toEqual(flat(batchOrder(100, 8, 5, 3)));
    expect(flat(batchOrder(100, 8, 5, 3))).not.toEqual(flat(batchOrder(100, 8, 5, 4)));
    expect(flat(batchOrder(100, 8, 5, 3))).not.toEqual(flat(batchOrder(100, 8, 6, 3)));
    // the batch size only cuts: the order is the same
    expect(flat(batchOrder(100, 7, 5, 3))).toEqual(flat(batchOrder(100, 8, 5, 3)));
  });

  it('rejects a bad batch size', () => {
    expect(() => batchOrder(10, 0, 0, 0)).toThrow(/batchSize/);
  });
});

describe('gatherBatch / toTensors', () => {
  // 3 samples of shape [2, 2, 1]: sample i holds 10 i + (0..3)
  const split: Split = {
    x: Float32Array.from({ length: 12 }, (_, k) => 10 * Math.floor(k / 4) + (k % 4)),
    y: Int32Array.from([2, 0, 1]),
    n: 3,
  };

  it('gathers samples in the given order', () => {
    const { x, y } = gatherBatch(split, [2, 0], [2, 2, 1]);
    expect(x.shape).toEqual([2, 2, 2, 1]);
    expect(Array.from(x.dataSync())).toEqual([20, 21, 22, 23, 0, 1, 2, 3]);
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.dataSync())).toEqual([1, 2]);
    tf.dispose([x, y]);
  });

  it('makes one-hot labels on request', () => {
    const { x, y } = toTensors(split, [4], { oneHot: 3 });
    expect(x.shape).toEqual([3, 4]);
    expect(y.shape).toEqual([3, 3]);
    expect(Array.from(y.dataSync())).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    tf.dispose([x, y]);
    expect(() => toTensors(split, [4], { oneHot: 2 })).toThrow(/one-hot depth 2/);
  });

  it('feeds model.fit with sparseCategoricalCrossentropy', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'softmax' })],
    });
    model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    const { x, y } = toTensors(split, [4]);
    const h = await model.fit(x, y, { epochs: 1, batchSize: 3, verbose: 0 });
    expect(Number.isFinite(h.history.loss[0] as number)).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });
});
