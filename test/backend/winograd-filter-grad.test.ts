// The Winograd F(2x2, 3x3) and F(4x4, 3x3) filter gradients on wasm
// (src/backend/wasm/winograd-filter-grad.ts and wino_dy / wino4_dy / wino_fgemm in
// simd/kernels.wat) equal the cpu backend's Conv2DBackpropFilter: called directly with each
// tile (so the Winograd path is certain to run) and through the registered kernel
// (where it is the default), on images 1x1 to 32x32, odd and even sizes, channel counts that
// are and are not multiples of 4 and 8, batches 1 and 64, 'same' and 'valid'; the shapes it
// does not cover; no leaks.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { filterGradMethodFor } from '../../src/backend/wasm/conv2d-backprop-filter.js';
import { heapF32, type BackendWasm } from '../../src/backend/wasm/kernel-utils.js';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
} from '../../src/backend/wasm/register.js';
import { simdKernelsFor } from '../../src/backend/wasm/simd/index.js';
import {
  winogradFilterGrad3x3,
  winogradFilterGradApplies,
  winogradFilterGradTile,
} from '../../src/backend/wasm/winograd-filter-grad.js';
import type { WinogradTile } from '../../src/backend/wasm/winograd.js';
import { expectClose, randomArray, runOn } from './compare.js';

type Shape4 = [number, number, number, number];
interface Case {
  x: Shape4;
  k: number;
  pad: 'same' | 'valid';
}

const CASES: Case[] = [];
for (const pad of ['same', 'valid'] as const) {
  CASES.push(
    { x: [1, 1, 1, 8], k: 8, pad },
    { x: [1, 2, 2, 16], k: 16, pad },
    { x: [2, 3, 5, 17], k: 17, pad }, // odd channels in and out
    { x: [1, 5, 4, 8], k: 17, pad },
    { x: [1, 7, 6, 32], k: 32, pad },
    { x: [1, 8, 8, 64], k: 64, pad },
    { x: [2, 32, 32, 16], k: 16, pad },
    { x: [1, 9, 9, 17], k: 64, pad },
    { x: [1, 5, 9, 64], k: 12, pad }, // K a multiple of 4, not of 8
    { x: [64, 6, 7, 16], k: 16, pad }, // batch 64: many blocks, a partial last one
    { x: [64, 4, 4, 64], k: 64, pad },
    { x: [64, 3, 5, 17], k: 8, pad },
    { x: [2, 8, 8, 512], k: 16, pad }, // past the forward's F(4x4) channel limit
    { x: [3, 32, 32, 3], k: 16, pad }, // an RGB stem (3 channels padded to 4)
  );
}
// 'valid' on images under 3x3 has an empty output (no gradient to compute).
const NONEMPTY = CASES.filter((c) => c.pad === 'same' || Math.min(c.x[1], c.x[2]) >= 3);
const describeCase = (c: Case): string => `x ${c.x.join('x')} -> ${c.k}, ${c.pad}`;
const seedOf = (c: Case, salt: number): number =>
  c.x.reduce((a, b) => a * 31 + b, c.k * 7 + (c.pad === 'same' ? 1 : 2)) + salt;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  replaceSlowWasmKernels();
});

function infoOf(c: Case): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(c.x, [3, 3, c.x[3], c.k], 1, 1, c.pad);
}

function inputs(c: Case): { xv: Float32Array; dyv: Float32Array; dyShape: number[] } {
  const dyShape = infoOf(c).outShape;
  return {
    xv: randomArray(tf.util.sizeFromShape(c.x), seedOf(c, 1)),
    dyv: randomArray(tf.util.sizeFromShape(dyShape), seedOf(c, 2)),
    dyShape,
  };
}

const cpuFilterGrad = async (c: Case): Promise<Float32Array> => {
  const { xv, dyv, dyShape } = inputs(c);
  const [expected] = await runOn(
    'cpu',
    () =>
      tf
        .engine()
        .runKernel('Conv2DBackpropFilter', { x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, dyShape) }, {
          strides: 1,
          pad: c.pad,
          dataFormat: 'NHWC',
          filterShape: [3, 3, c.x[3], c.k],
        } as never) as tf.Tensor,
  );
  return expected;
};

/** winogradFilterGrad3x3 on wasm with m x m tiles, called directly; its result's values. */
async function direct(c: Case, tile: WinogradTile): Promise<Float32Array> {
  await tf.setBackend('wasm');
  const backend = tf.backend() as BackendWasm;
  const { xv, dyv, dyShape } = inputs(c);
  const x = tf.tensor(xv, c.x);
  const dy = tf.tensor(dyv, dyShape);
  const out = winogradFilterGrad3x3(backend, x, dy, infoOf(c), tile);
  expect(out).not.toBeNull();
  const t = tf.engine().makeTensorFromTensorInfo(out as tf.TensorInfo);
  expect(t.shape).toEqual([3, 3, c.x[3], c.k]);
  const values = Float32Array.from(t.dataSync());
  tf.dispose([x, dy, t]);
  return values;
}

describe('winogradFilterGrad3x3 (called directly)', () => {
  it('runs on the single-threaded wasm backend (the SIMD module)', async () => {
    await tf.setBackend('wasm');
    expect(simdKernelsFor(tf.backend() as BackendWasm)).not.toBeNull();
  });

  for (const c of NONEMPTY) {
    for (const tile of [2, 4] as const) {
      it(`equals cpu with F(${tile}x${tile}, 3x3): ${describeCase(c)}`, async () => {
        expectClose(await direct(c, tile), await cpuFilterGrad(c));
      });
    }
  }

  it('picks F(4x4, 3x3) by default where its tiles waste few pixels (ResNet-20 at batch 64)', () => {
    const info = (xs: Shape4, k: number) =>
      tf.backend_util.computeConv2DInfo(xs, [3, 3, xs[3], k], 1, 1, 'same');
    expect(winogradFilterGradTile(info([64, 32, 32, 16], 16))).toBe(4);
    expect(winogradFilterGradTile(info([64, 16, 16, 32], 32))).toBe(4);
    expect(winogradFilterGradTile(info([64, 8, 8, 64], 64))).toBe(4);
    expect(winogradFilterGradTile(info([1, 6, 6, 16], 16))).toBe(2); // partial 6x6 tiles
    // The channels are not its reduction: F(4x4, 3x3) past the forward's 256-channel limit.
    expect(winogradFilterGradTile(info([64, 8, 8, 512], 64))).toBe(4);
  });

  it('applies to 3x3 stride-1 dilation-1 same/valid convolutions with an output only', () => {
    const info = (xs: Shape4, f: Shape4, s: number, d = 1, pad: 'same' | 'valid' = 'same') =>
      tf.backend_util.computeConv2DInfo(xs, f, s, d, pad);
    expect(winogradFilterGradApplies(info([1, 8, 8, 3], [3, 3, 3, 8], 1))).toBe(true);
    expect(winogradFilterGradApplies(info([1, 8, 8, 8], [3, 3, 8, 8], 2))).toBe(false);
    expect(winogradFilterGradApplies(info([1, 8, 8, 8], [3, 3, 8, 8], 1, 2))).toBe(false);
    expect(winogradFilterGradApplies(info([1, 8, 8, 8], [5, 5, 8, 8], 1))).toBe(false);
    expect(winogradFilterGradApplies(info([1, 8, 8, 8], [1, 1, 8, 8], 1))).toBe(false);
    expect(winogradFilterGradApplies(info([1, 2, 5, 8], [3, 3, 8, 8], 1, 1, 'valid'))).toBe(false);
    const explicit = tf.backend_util.computeConv2DInfo([1, 8, 8, 8], [3, 3, 8, 8], 1, 1, [
      [0, 0],
      [2, 0],
      [1, 1],
      [0, 0],
    ]);
    expect(winogradFilterGradApplies(explicit)).toBe(false);
    const x = tf.tensor4d(randomArray(8 * 8 * 8, 3), [1, 8, 8, 8]);
    const dy = tf.tensor4d(randomArray(4 * 4 * 8, 4), [1, 4, 4, 8]);
    const strided = info([1, 8, 8, 8], [3, 3, 8, 8], 2);
    expect(winogradFilterGrad3x3(tf.backend() as BackendWasm, x, dy, strided)).toBeNull();
    tf.dispose([x, dy]);
  });
});

describe('Conv2DBackpropFilter on wasm with the Winograd default', () => {
  it("is the default for ResNet-20's stride-1 3x3 layers, not for the others", () => {
    const info = (xs: Shape4, f: Shape4, s: number) =>
      tf.backend_util.computeConv2DInfo(xs, f, s, 1, 'same');
    expect(filterGradMethodFor(info([64, 32, 32, 16], [3, 3, 16, 16], 1))).toBe('winograd');
    expect(filterGradMethodFor(info([64, 16, 16, 32], [3, 3, 32, 32], 1))).toBe('winograd');
    expect(filterGradMethodFor(info([64, 8, 8, 64], [3, 3, 64, 64], 1))).toBe('winograd');
    expect(filterGradMethodFor(info([64, 32, 32, 3], [3, 3, 3, 16], 1))).toBe('winograd');
    expect(filterGradMethodFor(info([64, 32, 32, 3], [3, 3, 3, 8], 1))).toBe('simd');
    expect(filterGradMethodFor(info([64, 32, 32, 1], [3, 3, 1, 16], 1))).toBe('simd');
    expect(filterGradMethodFor(info([64, 32, 32, 16], [3, 3, 16, 4], 1))).toBe('simd');
    expect(filterGradMethodFor(info([64, 32, 32, 16], [3, 3, 16, 32], 2))).toBe('simd');
    expect(filterGradMethodFor(info([64, 32, 32, 16], [1, 1, 16, 32], 2))).toBe('simd');
  });

  for (const c of NONEMPTY.filter((q) => (q.x[3] >= 8 && q.k >= 8) || (q.x[3] >= 3 && q.k >= 16))) {
    it(`equals cpu through the kernel and tf.grad: ${describeCase(c)}`, async () => {
      const { xv, dyv, dyShape } = inputs(c);
      const f: Shape4 = [3, 3, c.x[3], c.k];
      const fv = randomArray(tf.util.sizeFromShape(f), seedOf(c, 3));
      const grad = () =>
        tf.grad((filter: tf.Tensor) =>
          tf
            .conv2d(tf.tensor4d(xv, c.x), filter as tf.Tensor4D, 1, c.pad)
            .mul(tf.tensor(dyv, dyShape))
            .sum(),
        )(tf.tensor4d(fv, f));
      const [expected] = await runOn('cpu', grad);
      const [actual] = await runOn('wasm', grad);
      expectClose(actual, expected);
    });
  }

  it('leaks no wasm memory and keeps the heap size (direct and framed dy)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    for (const c of [
      { x: [2, 8, 8, 16], k: 16, pad: 'same' },
      { x: [2, 7, 9, 17], k: 12, pad: 'valid' },
    ] as Case[]) {
      const { xv, dyv, dyShape } = inputs(c);
      const x = tf.tensor(xv, c.x);
      const dy = tf.tensor(dyv, dyShape);
      const attrs = {
        strides: 1,
        pad: c.pad,
        dataFormat: 'NHWC',
        filterShape: [3, 3, c.x[3], c.k],
      };
      const once = () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
      tf.dispose(once()); // the heap grows once, to what the call needs
      const heap = heapF32(backend, x).buffer.byteLength;
      for (let rep = 0; rep < 4; rep++) {
        const before = tf.memory().numTensors;
        const dataIds = backend.numDataIds();
        tf.dispose(once());
        expect(tf.memory().numTensors).toBe(before);
        expect(backend.numDataIds()).toBe(dataIds);
        expect(heapF32(backend, x).buffer.byteLength).toBe(heap);
      }
      tf.dispose([x, dy]);
    }
  });
});
