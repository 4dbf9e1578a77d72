// The SIMD module behind the wasm kernels (src/backend/wasm/simd): the committed bytes are
// a fresh assembly of kernels.wat, and Sum / Mean over leading axes (replaced on wasm,
// computed by its colsum) equal the cpu backend. The filter gradient's SIMD path is tested
// with the other formulations in conv-kernels.test.ts.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendWasm } from '../../src/backend/wasm/kernel-utils.js';
import { leadingSplit } from '../../src/backend/wasm/leading-reduction.js';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
} from '../../src/backend/wasm/register.js';
import { KERNELS_WASM_BASE64 } from '../../src/backend/wasm/simd/kernels-wasm.js';
import { simdKernelsFor } from '../../src/backend/wasm/simd/index.js';
import { expectSameOnCpuAndWasm, randomArray } from './compare.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  replaceSlowWasmKernels();
});

describe('the SIMD kernels module', () => {
  it('is the assembly of kernels.wat (run scripts/build-wasm-kernels.mjs after editing it)', async () => {
    const script = pathToFileURL(
      path.resolve(__dirname, '../../scripts/build-wasm-kernels.mjs'),
    ).href;
    const { assembleKernels } = await import(script);
    const fresh: Uint8Array = await assembleKernels();
    const committed = Buffer.from(KERNELS_WASM_BASE64, 'base64');
    expect(committed.equals(Buffer.from(fresh))).toBe(true);
  });

  it('instantiates on the single-threaded backend heap', async () => {
    await tf.setBackend('wasm');
    expect(simdKernelsFor(tf.backend() as BackendWasm)).not.toBeNull();
  });
});

describe('leadingSplit', () => {
  it('sees a reduction over leading axes as [rows, cols]', () => {
    expect(leadingSplit([4, 5, 6, 7], [0, 1, 2])).toEqual({
      rows: 120,
      cols: 7,
      outShape: [7],
      keptShape: [1, 1, 1, 7],
    });
    expect(leadingSplit([4, 5, 6], [1, 0])?.rows).toBe(20);
  });

  it('declines other axes and full reductions', () => {
    expect(leadingSplit([4, 5, 6], [1, 2])).toBeNull();
    expect(leadingSplit([4, 5, 6], [0, 2])).toBeNull();
    expect(leadingSplit([4, 5, 6], [0, 1, 2])).toBeNull();
  });
});

describe('Sum and Mean on wasm (replaced)', () => {
  const cases: Array<[number[], number[]]> = [
    [
      [64, 8, 8, 16],
      [0, 1, 2],
    ], // batch norm, 4096 rows: many chunks of 256
    [
      [3, 5, 7, 6],
      [0, 1, 2],
    ], // 6 channels: a vector and two scalar columns
    [
      [2, 3, 5, 64],
      [0, 1, 2],
    ],
    [[300, 9], [0]],
    [
      [7, 4, 5],
      [0, 1],
    ],
    [
      [1, 1, 1, 32],
      [0, 1, 2],
    ], // one row
    [
      [6, 3, 4],
      [1, 2],
    ], // not leading: the stock kernel
    [[5, 3], [0]], // 3 columns: the stock kernel
  ];
  for (const [shape, axes] of cases) {
    for (const keepDims of [false, true]) {
      const name = `[${shape.join(',')}] over [${axes.join(',')}]${keepDims ? ', keepDims' : ''}`;
      const v = randomArray(tf.util.sizeFromShape(shape), shape.length * 13 + shape[0]);
      it(`sum equals cpu: ${name}`, async () => {
        await expectSameOnCpuAndWasm(() => tf.sum(tf.tensor(v, shape), axes, keepDims));
      });
      it(`mean equals cpu: ${name}`, async () => {
        await expectSameOnCpuAndWasm(() => tf.mean(tf.tensor(v, shape), axes, keepDims));
      });
    }
  }

  it('keeps the reduced axes as 1s with keepDims, drops them without', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([4, 3, 2, 8]);
    expect(tf.sum(x, [0, 1, 2], true).shape).toEqual([1, 1, 1, 8]);
    expect(tf.mean(x, [0, 1], false).shape).toEqual([2, 8]);
    expect(Array.from(tf.mean(x, [0, 1, 2]).dataSync())).toEqual(new Array(8).fill(1));
    expect(Array.from(tf.sum(x, [0, 1, 2]).dataSync())).toEqual(new Array(8).fill(24));
    x.dispose();
  });

  it('sums int32 tensors with the stock kernel', async () => {
    await expectSameOnCpuAndWasm(() =>
      tf.cast(tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], 'int32'), 0), 'float32'),
    );
  });
});
