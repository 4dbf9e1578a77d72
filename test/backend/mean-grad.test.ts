// The Mean gradient (src/backend/mean-grad.ts): tf.grad of tf.mean equals tfjs-core's own
// formula, (reshape(dy) * ones(x.shape)) / n, bit for bit (NaN, signed zeros and infinities
// among the values) for every axis form (one axis, negative, several, all, keepDims), on the
// cpu and wasm backends, without a tensor of x's size made in JavaScript, and leaks nothing.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import '../../src/backend/mean-grad.js';
import { randomArray } from './compare.js';

const CASES: { shape: number[]; axis: number | number[] | null; keepDims: boolean }[] = [
  { shape: [4, 3, 3, 5], axis: [1, 2], keepDims: false }, // global average pooling
  { shape: [6, 7], axis: -1, keepDims: true }, // layer norm's moments
  { shape: [5, 9], axis: 0, keepDims: false },
  { shape: [2, 3, 4], axis: null, keepDims: false }, // all axes (a loss)
  { shape: [3, 1, 4], axis: 1, keepDims: false }, // over an axis of one
  { shape: [7], axis: [0], keepDims: true },
];

/** tfjs-core's Mean gradient, written out. */
function tfjsFormula(dy: tf.Tensor, shape: number[], axes: number[]): tf.Tensor {
  const kept = shape.slice();
  axes.forEach((a) => (kept[a] = 1));
  const n = axes.reduce((p, a) => p * shape[a], 1);
  return tf.tidy(() => tf.div(tf.mul(tf.reshape(dy, kept), tf.ones(shape, 'float32')), n));
}

describe('the Mean gradient', () => {
  for (const backend of ['cpu', 'wasm']) {
    for (const { shape, axis, keepDims } of CASES) {
      it(`${backend}: mean over ${JSON.stringify(axis)} of ${shape.join('x')}${keepDims ? ', keepDims' : ''} equals tfjs's formula`, async () => {
        await tf.setBackend(backend);
        const size = shape.reduce((p, d) => p * d, 1);
        const axes = tf.util.parseAxisParam(axis ?? shape.map((_, i) => i), shape);
        const outSize = size / axes.reduce((p, a) => p * shape[a], 1);
        const dyv = randomArray(outSize, 11);
        [NaN, -0, Infinity, -Infinity, 0].forEach((v, i) => {
          if (i < outSize) dyv[(i * 3) % outSize] = v;
        });
        const before = tf.memory().numTensors;
        const x = tf.tensor(randomArray(size, 5), shape);
        const outShape = tf.tidy(() => tf.mean(x, axis ?? undefined, keepDims).shape);
        const dy = tf.tensor(dyv, outShape);
        let got: tf.Tensor | null = null;
        const profile = await tf.profile(() => {
          got = tf.tidy(() =>
            tf.grad((t: tf.Tensor) => tf.mean(t, axis ?? undefined, keepDims))(x, dy),
          );
          return got;
        });
        // tfjs's own gradient multiplies by ones of x's shape; this one divides dy, then tiles
        // (where the mean reduces more than an axis of one, so dy is smaller than x)
        const full = profile.kernels.filter(
          (k) => (k.outputShapes[0] ?? []).reduce((p, d) => p * d, 1) === size,
        );
        expect(profile.kernelNames).not.toContain('Multiply');
        if (outSize < size) expect(full.map((k) => k.name)).not.toContain('RealDiv');
        got = got as unknown as tf.Tensor;
        const want = tfjsFormula(dy, shape, axes);
        expect(got.shape).toEqual(shape);
        const g = await got.data();
        const w = await want.data();
        for (let i = 0; i < size; i++) expect(Object.is(g[i], w[i]), `element ${i}`).toBe(true);
        tf.dispose([x, dy, got, want]);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});
