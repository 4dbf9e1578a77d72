// Sum and Mean on wasm (replaced) add in double and round once, as the cpu backend does: the
// quantizers' scales (mean |w|) then agree with cpu and the reference to the last bit, where
// the stock float32 running sum is off by ~5e-7 relative on a 784 x 48 kernel.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
  restoreStockWasmKernels,
} from '../../src/backend/wasm/register.js';
import { reduceLayout } from '../../src/backend/wasm/exact-reduction.js';
import { normals } from '../helpers.js';

async function on(backend: string, f: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = f();
  const out = (await t.data()) as Float32Array;
  t.dispose();
  return out;
}

/** The exact sums (double, rounded once) of `x` viewed as [outer, reduce, inner] over axis 1. */
function exactSums(x: Float32Array, [o, r, n]: number[], mean: boolean): Float32Array {
  const out = new Float32Array(o * n);
  for (let a = 0; a < o; a++)
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += x[(a * r + k) * n + c];
      out[a * n + c] = mean ? s / r : s;
    }
  return out;
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  replaceSlowWasmKernels();
});

describe('Sum and Mean on wasm (replaced)', () => {
  const w = Float32Array.from(normals(784 * 48, 7, 0.05), Math.abs);

  it('mean |w| of a kernel is the exact mean rounded once, on wasm as on cpu', async () => {
    const expected = exactSums(w, [1, 784 * 48, 1], true);
    for (const backend of ['wasm', 'cpu']) {
      const got = await on(backend, () => tf.mean(tf.tensor(w, [1, 784 * 48, 1]), 1, true));
      expect(got).toEqual(expected);
    }
  });

  it('the stock wasm kernel is less exact (the defect this replacement fixes)', async () => {
    await tf.setBackend('wasm');
    restoreStockWasmKernels();
    try {
      const got = await on('wasm', () => tf.mean(tf.tensor(w, [1, 784 * 48, 1]), 1, true));
      const exact = exactSums(w, [1, 784 * 48, 1], true)[0];
      expect(Math.abs(got[0] - exact) / exact).toBeGreaterThan(1e-7);
    } finally {
      replaceSlowWasmKernels();
    }
  });

  for (const [shape, axis] of [
    [[4, 6, 5], 1],
    [
      [4, 6, 5],
      [1, 2],
    ],
    [[3, 8], -1],
    [[7], 0],
    [
      [2, 3, 4, 5],
      [1, 2],
    ],
  ] as [number[], number | number[]][]) {
    it(`sum and mean over axis ${JSON.stringify(axis)} of [${shape}] equal the exact ones`, async () => {
      const x = normals(tf.util.sizeFromShape(shape), shape.length);
      const l = reduceLayout(shape, axis, false)!;
      for (const keepDims of [false, true]) {
        const sum = await on('wasm', () => tf.sum(tf.tensor(x, shape), axis, keepDims));
        const mean = await on('wasm', () => tf.mean(tf.tensor(x, shape), axis, keepDims));
        expect(sum).toEqual(exactSums(x, [l.outer, l.reduce, l.inner], false));
        expect(mean).toEqual(exactSums(x, [l.outer, l.reduce, l.inner], true));
      }
    });
  }

  it('leading axes (batch norm) stay on the SIMD column sums, within float32 rounding', async () => {
    const x = normals(4 * 6 * 5, 11);
    const got = await on('wasm', () => tf.sum(tf.tensor(x, [4, 6, 5]), 0));
    const want = exactSums(x, [1, 4, 30], false);
    for (let i = 0; i < 30; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
  });

  it('falls back to the stock kernel for axes that are not contiguous, and for int32', async () => {
    expect(reduceLayout([2, 3, 4], [0, 2], false)).toBeNull();
    const x = normals(24, 3);
    const got = await on('wasm', () => tf.sum(tf.tensor(x, [2, 3, 4]), [0, 2]));
    const want = await on('cpu', () => tf.sum(tf.tensor(x, [2, 3, 4]), [0, 2]));
    for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    await tf.setBackend('wasm');
    expect(Array.from(await tf.sum(tf.tensor([1, 2, 3], [3], 'int32')).data())).toEqual([6]);
  });
});
