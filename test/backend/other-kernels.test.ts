// The replaced wasm kernels BatchMatMul, Tile, MaxPoolGrad and AvgPoolGrad equal the cpu
// backend's on random inputs.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
} from '../../src/backend/wasm/register.js';
import { simdKernelsSwitch } from '../../src/backend/wasm/simd/index.js';
import { expectClose, expectSameOnCpuAndWasm, randomArray, runOn } from './compare.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  replaceSlowWasmKernels();
});

describe('BatchMatMul on wasm (replaced)', () => {
  const shapes: Array<[number[], number[], boolean, boolean]> = [];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      shapes.push(
        [ta ? [13, 7] : [7, 13], tb ? [5, 13] : [13, 5], ta, tb],
        [ta ? [64, 784] : [784, 64], tb ? [256, 64] : [64, 256], ta, tb], // dense layer grads
        [ta ? [1, 9, 4] : [1, 4, 9], tb ? [1, 3, 9] : [1, 9, 3], ta, tb], // batch of 1
        [ta ? [1, 9, 4] : [1, 4, 9], tb ? [3, 9] : [9, 3], ta, tb], // broadcast rank
        [ta ? [3, 9, 4] : [3, 4, 9], tb ? [3, 2, 9] : [3, 9, 2], ta, tb], // batch 3: stock
        [ta ? [1, 4] : [4, 1], tb ? [6, 1] : [1, 6], ta, tb], // outer product
        [ta ? [16, 8] : [8, 16], tb ? [24, 16] : [16, 24], ta, tb], // whole 4x8 GEMM blocks
        [ta ? [400, 64] : [64, 400], tb ? [120, 400] : [400, 120], ta, tb], // LeNet-5 fc1
        [ta ? [1, 3] : [3, 1], tb ? [9, 1] : [1, 9], ta, tb], // k = 1, rows and columns padded
      );
    }
  }
  for (const [a, b, ta, tb] of shapes) {
    it(`equals cpu: ${a.join('x')}${ta ? 'ᵀ' : ''} · ${b.join('x')}${tb ? 'ᵀ' : ''}`, async () => {
      const av = randomArray(tf.util.sizeFromShape(a), a.length * 7 + a[0]);
      const bv = randomArray(tf.util.sizeFromShape(b), b.length * 5 + b[0]);
      await expectSameOnCpuAndWasm(() => tf.matMul(tf.tensor(av, a), tf.tensor(bv, b), ta, tb));
    });
  }

  it('is zero for an empty inner dimension and empty for an empty outer one', async () => {
    await expectSameOnCpuAndWasm(() => tf.matMul(tf.zeros([4, 0]), tf.zeros([0, 8])));
    await expectSameOnCpuAndWasm(() => tf.matMul(tf.zeros([5, 0]), tf.zeros([0, 3])));
    await expectSameOnCpuAndWasm(() => tf.matMul(tf.zeros([0, 5]), tf.ones([5, 3])));
  });

  it('without the SIMD module: the stock product (transposes materialized) equals cpu', async () => {
    simdKernelsSwitch.enabled = false;
    try {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
      ]) {
        const av = randomArray(13 * 7, 3);
        const bv = randomArray(13 * 5, 4);
        await expectSameOnCpuAndWasm(() =>
          tf.matMul(
            tf.tensor(av, ta ? [13, 7] : [7, 13]),
            tf.tensor(bv, tb ? [5, 13] : [13, 5]),
            ta,
            tb,
          ),
        );
      }
    } finally {
      simdKernelsSwitch.enabled = true;
    }
  });

  it('gives the dense layer gradients', async () => {
    const xv = randomArray(32 * 20, 1);
    const wv = randomArray(20 * 10, 2);
    await expectSameOnCpuAndWasm(() =>
      tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.relu(tf.matMul(x, w)).square().sum())([
        tf.tensor2d(xv, [32, 20]),
        tf.tensor2d(wv, [20, 10]),
      ]),
    );
  });
});

describe('Tile on wasm (replaced)', () => {
  const cases: Array<[number[], number[]]> = [
    [
      [1, 1, 1, 16],
      [8, 4, 4, 1],
    ], // batch norm gradient
    [
      [2, 3, 4],
      [3, 1, 2],
    ],
    [[5], [3]],
    [
      [2, 1, 3],
      [1, 4, 1],
    ],
    [
      [3, 2],
      [1, 1],
    ],
    [
      [2, 3],
      [0, 2],
    ],
    [[], []],
  ];
  for (const [shape, reps] of cases) {
    it(`equals cpu: [${shape.join(',')}] reps [${reps.join(',')}]`, async () => {
      const v = randomArray(tf.util.sizeFromShape(shape), shape.length + 3);
      await expectSameOnCpuAndWasm(() => tf.tile(tf.tensor(v, shape), reps));
    });
  }

  it('tiles int32 and bool tensors', async () => {
    for (const dtype of ['int32', 'bool'] as const) {
      const values = [1, 0, 3, 0, 5, 1].map((x) => (dtype === 'bool' ? x % 2 : x));
      const [cpu] = await runOn('cpu', () => tf.tile(tf.tensor(values, [2, 3], dtype), [2, 2]));
      const [wasm] = await runOn('wasm', () => tf.tile(tf.tensor(values, [2, 3], dtype), [2, 2]));
      expect(Array.from(wasm)).toEqual(Array.from(cpu));
    }
  });
});

describe('MaxPoolGrad and AvgPoolGrad on wasm (replaced)', () => {
  const cases: Array<[number[], number, number, 'same' | 'valid']> = [
    [[2, 28, 28, 6], 2, 2, 'valid'], // LeNet pool 1
    [[3, 10, 10, 16], 2, 2, 'valid'], // LeNet pool 2
    [[2, 9, 11, 3], 3, 2, 'same'],
    [[2, 9, 11, 3], 3, 1, 'same'],
    [[1, 7, 6, 5], 2, 3, 'valid'],
    [[2, 8, 8, 4], 3, 2, 'valid'],
  ];
  for (const [shape, size, stride, pad] of cases) {
    const name = `${shape.join('x')} pool ${size} stride ${stride} ${pad}`;
    it(`max pool gradient equals cpu: ${name}`, async () => {
      const xv = randomArray(tf.util.sizeFromShape(shape), shape[1] * 3 + size);
      const wv = randomArray(tf.util.sizeFromShape(shape), shape[2] * 5 + stride);
      await expectSameOnCpuAndWasm(() =>
        tf.grad((x) =>
          tf
            .maxPool(x as tf.Tensor4D, size, stride, pad)
            .square()
            .sum(),
        )(tf.tensor(xv, shape).mul(tf.tensor(wv, shape))),
      );
    });
    it(`avg pool gradient equals cpu: ${name}`, async () => {
      const xv = randomArray(tf.util.sizeFromShape(shape), shape[1] * 7 + size);
      await expectSameOnCpuAndWasm(() =>
        tf.grad((x) =>
          tf
            .avgPool(x as tf.Tensor4D, size, stride, pad)
            .square()
            .sum(),
        )(tf.tensor(xv, shape)),
      );
    });
  }

  // The max pool gradient on both of its paths (the SIMD maxpool_grad and the JavaScript
  // loop): channel counts below, at and past multiples of 4 (the SIMD kernel's last vector
  // overlaps the previous one), overlapping windows, padding, odd sizes, batch 1 and 64.
  type Shape4 = [number, number, number, number];
  const maxCases: Array<[Shape4, [number, number], [number, number], 'same' | 'valid']> = [
    [[64, 28, 28, 6], [2, 2], [2, 2], 'valid'],
    [[64, 10, 10, 16], [2, 2], [2, 2], 'valid'],
    [[1, 7, 9, 1], [3, 3], [1, 1], 'same'],
    [[1, 9, 7, 2], [2, 3], [2, 1], 'same'],
    [[2, 5, 5, 3], [3, 2], [2, 2], 'valid'],
    [[1, 8, 6, 4], [3, 3], [2, 2], 'same'],
    [[2, 7, 7, 5], [3, 3], [1, 1], 'valid'],
    [[1, 9, 9, 7], [3, 3], [2, 2], 'same'],
    [[2, 6, 5, 9], [2, 2], [1, 2], 'same'],
    [[1, 5, 7, 17], [3, 2], [2, 1], 'valid'],
    [[64, 11, 9, 13], [3, 3], [2, 2], 'same'],
  ];
  for (const simd of [true, false]) {
    for (const [shape, size, stride, pad] of maxCases) {
      const name = `${shape.join('x')} pool ${size.join('x')} stride ${stride.join(',')} ${pad}`;
      it(`max pool gradient equals cpu (${simd ? 'SIMD' : 'JavaScript'}): ${name}`, async () => {
        const xv = randomArray(tf.util.sizeFromShape(shape), shape[3] * 13 + size[0]);
        // Ties: a quarter of the values (rounded to a coarse grid) repeat within windows.
        for (let i = 0; i < xv.length; i += 4) xv[i] = Math.round(xv[i] * 2) / 2;
        const dyShape = tf.maxPool(tf.zeros(shape) as tf.Tensor4D, size, stride, pad).shape;
        const dyv = randomArray(tf.util.sizeFromShape(dyShape), shape[1] * 3 + stride[1]);
        const run = () =>
          tf.engine().runKernel(
            'MaxPoolGrad',
            {
              dy: tf.tensor(dyv, dyShape),
              input: tf.tensor(xv, shape),
              output: tf.maxPool(tf.tensor4d(xv, shape), size, stride, pad),
            },
            { filterSize: size, strides: stride, pad } as never,
          ) as tf.Tensor;
        const [cpu] = await runOn('cpu', run);
        simdKernelsSwitch.enabled = simd;
        try {
          const [wasm] = await runOn('wasm', run);
          // The same pixels get gradient; where windows overlap, sums of a few dy values
          // (added in another order on cpu).
          expect(Array.from(wasm, (v) => v !== 0)).toEqual(Array.from(cpu, (v) => v !== 0));
          expectClose(wasm, cpu);
        } finally {
          simdKernelsSwitch.enabled = true;
        }
      });
    }
  }

  it('routes nothing from a window of -Infinity or NaN, like cpu', async () => {
    const shape = [1, 4, 4, 6];
    const xv = randomArray(96, 5);
    for (let i = 0; i < 2 * 4 * 6; i++) xv[i] = i % 2 ? -Infinity : NaN; // the first two rows
    const dyv = randomArray(24, 6);
    const run = () =>
      tf.engine().runKernel(
        'MaxPoolGrad',
        {
          dy: tf.tensor(dyv, [1, 2, 2, 6]),
          input: tf.tensor(xv, shape),
          output: tf.maxPool(tf.tensor4d(xv, shape as never), 2, 2, 'valid'),
        },
        { filterSize: 2, strides: 2, pad: 'valid' } as never,
      ) as tf.Tensor;
    const [cpu] = await runOn('cpu', run);
    for (const simd of [true, false]) {
      simdKernelsSwitch.enabled = simd;
      try {
        const [wasm] = await runOn('wasm', run);
        expect(Array.from(wasm)).toEqual(Array.from(cpu));
      } finally {
        simdKernelsSwitch.enabled = true;
      }
    }
  });

  it('routes the max pool gradient to the first of tied maxima, like cpu', async () => {
    // After a ReLU many windows are all zeros: every backend must pick the same pixel.
    const xv = randomArray(2 * 8 * 8 * 3, 77);
    const dyv = randomArray(2 * 4 * 4 * 3, 78);
    const [cpu] = await runOn(
      'cpu',
      () =>
        tf.engine().runKernel(
          'MaxPoolGrad',
          {
            dy: tf.tensor(dyv, [2, 4, 4, 3]),
            input: tf.relu(tf.tensor(xv, [2, 8, 8, 3])),
            output: tf.maxPool(tf.relu(tf.tensor4d(xv, [2, 8, 8, 3])), 2, 2, 'valid'),
          },
          { filterSize: 2, strides: 2, pad: 'valid' } as never,
        ) as tf.Tensor,
    );
    const [wasm] = await runOn(
      'wasm',
      () =>
        tf.engine().runKernel(
          'MaxPoolGrad',
          {
            dy: tf.tensor(dyv, [2, 4, 4, 3]),
            input: tf.relu(tf.tensor(xv, [2, 8, 8, 3])),
            output: tf.maxPool(tf.relu(tf.tensor4d(xv, [2, 8, 8, 3])), 2, 2, 'valid'),
          },
          { filterSize: 2, strides: 2, pad: 'valid' } as never,
        ) as tf.Tensor,
    );
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
  });
});
