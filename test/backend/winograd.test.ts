// The Winograd forward convolution on wasm (src/backend/wasm/winograd.ts and wino_* /
// wino4_* in simd/kernels.wat), F(2x2, 3x3) and F(4x4, 3x3), equals the cpu backend's
// convolution: called directly with each tile size forced (so both paths are certain to
// run) and through the replaced Conv2D and FusedConv2D kernels (bias, ReLU; winogradTile
// picks), on odd and even image sizes (partial 4x4 tiles: 1x1, 3x3, 5x7, 9x9, 6x6),
// channel counts that are and are not multiples of 4 and 8, up to 64, batches 1 and 64;
// stock fallbacks for what it does not cover; the tile choice; no leaks.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendWasm } from '../../src/backend/wasm/kernel-utils.js';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
} from '../../src/backend/wasm/register.js';
import { simdKernelsFor } from '../../src/backend/wasm/simd/index.js';
import {
  WINOGRAD4_MAX_CHANNELS,
  WINOGRAD4_MIN_SAVED,
  winogradApplies,
  winogradConv3x3,
  winogradInputGrad3x3,
  winogradTile,
  type WinogradTile,
} from '../../src/backend/wasm/winograd.js';
import { expectClose, expectSameOnCpuAndWasm, randomArray, runOn } from './compare.js';

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
    { x: [2, 3, 5, 17], k: 19, pad }, // odd channels in and out
    { x: [1, 7, 6, 32], k: 32, pad },
    { x: [1, 8, 8, 64], k: 64, pad },
    { x: [1, 32, 32, 16], k: 16, pad },
    { x: [1, 5, 9, 8], k: 12, pad }, // K a multiple of 4, not of 8
    { x: [64, 6, 7, 16], k: 16, pad }, // batch 64: many blocks, a partial last one
    { x: [64, 4, 4, 64], k: 64, pad },
    // partial 4x4 tiles (F(4x4, 3x3)), 64 channels
    { x: [2, 5, 7, 64], k: 64, pad },
    { x: [1, 9, 9, 16], k: 24, pad },
    { x: [3, 3, 3, 8], k: 8, pad },
    { x: [2, 6, 6, 64], k: 64, pad },
    { x: [1, 16, 16, 32], k: 32, pad },
  );
}
// 'valid' on images under 3x3 has an empty output (the stock kernel's: tfjs-backend-wasm 4.22
// corrupts its heap there, with or without parq-ts's kernels, so it is not run here).
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

function inputs(c: Case): { xv: Float32Array; fv: Float32Array; bv: Float32Array; f: Shape4 } {
  const f: Shape4 = [3, 3, c.x[3], c.k];
  return {
    xv: randomArray(tf.util.sizeFromShape(c.x), seedOf(c, 1)),
    fv: randomArray(tf.util.sizeFromShape(f), seedOf(c, 2)),
    bv: randomArray(c.k, seedOf(c, 3)),
    f,
  };
}

describe('winogradConv3x3 (called directly)', () => {
  it('runs on the single-threaded wasm backend (the SIMD module)', async () => {
    await tf.setBackend('wasm');
    expect(simdKernelsFor(tf.backend() as BackendWasm)).not.toBeNull();
  });

  for (const c of NONEMPTY) {
    for (const [fuse, tile] of [
      ['plain', 2],
      ['bias+relu', 2],
      ['plain', 4],
      ['bias+relu', 4],
    ] as const) {
      it(`equals cpu: ${describeCase(c)}, ${fuse}, F(${tile}x${tile})`, async () => {
        const { xv, fv, bv, f } = inputs(c);
        const withBias = fuse !== 'plain';
        const [expected] = await runOn('cpu', () => {
          const y = tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, f), 1, c.pad);
          return withBias ? tf.relu(tf.add(y, tf.tensor1d(bv))) : y;
        });
        await tf.setBackend('wasm');
        const backend = tf.backend() as BackendWasm;
        const x = tf.tensor4d(xv, c.x);
        const filter = tf.tensor4d(fv, f);
        const bias = tf.tensor1d(bv);
        const info = tf.backend_util.computeConv2DInfo(c.x, f, 1, 1, c.pad);
        expect(winogradApplies(info)).toBe(true);
        const out = winogradConv3x3(
          backend,
          x,
          filter,
          info,
          withBias ? bias : null,
          withBias,
          tile,
        );
        expect(out).not.toBeNull();
        const y = tf.engine().makeTensorFromTensorInfo(out!);
        expect(y.shape).toEqual(info.outShape);
        expectClose(y.dataSync(), expected);
        tf.dispose([x, filter, bias, y]);
      });
    }
  }
});

describe('winogradInputGrad3x3 (the stride-1 input gradient)', () => {
  // dx of a forward convolution x [N, H, W, C] -> dy [N, OH, OW, K]: the Winograd convolution
  // of dy with the rotated, channel-swapped filter, read in place.
  const GRAD: Case[] = [
    ...NONEMPTY.filter((c) => c.x[0] === 1 || c.x[1] <= 6),
    { x: [2, 9, 5, 8], k: 17, pad: 'valid' },
    { x: [3, 4, 3, 19], k: 16, pad: 'same' },
  ];
  for (const c of GRAD) {
    for (const tile of [2, 4] as WinogradTile[]) {
      it(`equals cpu: ${describeCase(c)}, F(${tile}x${tile})`, async () => {
        const { fv, f } = inputs(c);
        const info = tf.backend_util.computeConv2DInfo(c.x, f, 1, 1, c.pad);
        const dyv = randomArray(tf.util.sizeFromShape(info.outShape), seedOf(c, 4));
        const [expected] = await runOn('cpu', () =>
          tf.conv2dTranspose(tf.tensor4d(dyv, info.outShape), tf.tensor4d(fv, f), c.x, 1, c.pad),
        );
        await tf.setBackend('wasm');
        const dy = tf.tensor4d(dyv, info.outShape);
        const filter = tf.tensor4d(fv, f);
        const out = winogradInputGrad3x3(tf.backend() as BackendWasm, dy, filter, info, tile);
        expect(out).not.toBeNull();
        const dx = tf.engine().makeTensorFromTensorInfo(out!);
        expect(dx.shape).toEqual(c.x);
        expectClose(dx.dataSync(), expected);
        tf.dispose([dy, filter, dx]);
      });
    }
  }

  it('F(4x4) stays within 1e-4 of cpu at 256 channels, the most it is picked for', async () => {
    const xs: Shape4 = [2, 8, 8, 256];
    const f: Shape4 = [3, 3, 256, 256];
    const xv = randomArray(tf.util.sizeFromShape(xs), 11);
    const fv = randomArray(tf.util.sizeFromShape(f), 12);
    const dyv = randomArray(tf.util.sizeFromShape(xs), 13);
    const [y0, dx0] = await runOn('cpu', () => {
      const filter = tf.tensor4d(fv, f);
      return [
        tf.conv2d(tf.tensor4d(xv, xs), filter, 1, 'same'),
        tf.conv2dTranspose(tf.tensor4d(dyv, xs), filter, xs, 1, 'same'),
      ];
    });
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor4d(xv, xs);
    const filter = tf.tensor4d(fv, f);
    const dy = tf.tensor4d(dyv, xs);
    const info = tf.backend_util.computeConv2DInfo(xs, f, 1, 1, 'same');
    const y = tf
      .engine()
      .makeTensorFromTensorInfo(winogradConv3x3(backend, x, filter, info, null, false, 4)!);
    const dx = tf
      .engine()
      .makeTensorFromTensorInfo(winogradInputGrad3x3(backend, dy, filter, info, 4)!);
    expectClose(y.dataSync(), y0);
    expectClose(dx.dataSync(), dx0);
    tf.dispose([x, filter, dy, y, dx]);
  });

  it('declines strides above 1, other filters and dilations (null)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const dy = tf.zeros([1, 4, 4, 8]);
    const f3 = tf.zeros([3, 3, 8, 8]);
    const f5 = tf.zeros([5, 5, 8, 8]);
    const info = (f: Shape4, s: number, d: number) =>
      tf.backend_util.computeConv2DInfo([1, 8, 8, 8], f, s, d, 'same');
    expect(winogradInputGrad3x3(backend, dy, f3, info([3, 3, 8, 8], 2, 1))).toBeNull();
    expect(winogradInputGrad3x3(backend, dy, f5, info([5, 5, 8, 8], 1, 1))).toBeNull();
    expect(winogradInputGrad3x3(backend, dy, f3, info([3, 3, 8, 8], 1, 2))).toBeNull();
    tf.dispose([dy, f3, f5]);
  });
});

describe('Conv2D and FusedConv2D on wasm (Winograd where it applies)', () => {
  for (const c of NONEMPTY.filter((_, i) => i % 2 === 0)) {
    it(`tf.conv2d equals cpu: ${describeCase(c)}`, async () => {
      const { xv, fv, f } = inputs(c);
      await expectSameOnCpuAndWasm(() =>
        tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, f), 1, c.pad),
      );
    });
    for (const activation of ['linear', 'relu'] as const) {
      for (const withBias of [false, true]) {
        it(`tf.fused.conv2d equals cpu: ${describeCase(c)}, ${activation}, bias ${withBias}`, async () => {
          const { xv, fv, bv, f } = inputs(c);
          await expectSameOnCpuAndWasm(() =>
            tf.fused.conv2d({
              x: tf.tensor4d(xv, c.x),
              filter: tf.tensor4d(fv, f),
              strides: 1,
              pad: c.pad,
              bias: withBias ? tf.tensor1d(bv) : undefined,
              activation,
            }),
          );
        });
      }
    }
  }

  // Not Winograd: the stock kernel (stride 2, 5x5, few channels, dilation, relu6, prelu,
  // empty 'valid' outputs); the results still equal cpu.
  const x: Shape4 = [2, 9, 8, 16];
  const fallbacks: Array<[string, () => tf.Tensor]> = [
    ['stride 2', () => tf.conv2d(tf.tensor4d(randomArray(2304, 1), x), filt(3, 16, 8), 2, 'same')],
    ['5x5', () => tf.conv2d(tf.tensor4d(randomArray(2304, 1), x), filt(5, 16, 8), 1, 'same')],
    [
      '4 input channels',
      () => tf.conv2d(tf.tensor4d(randomArray(576, 1), [2, 9, 8, 4]), filt(3, 4, 8), 1, 'same'),
    ],
    [
      'dilation 2',
      () => tf.conv2d(tf.tensor4d(randomArray(2304, 1), x), filt(3, 16, 8), 1, 'same', 'NHWC', 2),
    ],
    [
      'relu6',
      () =>
        tf.fused.conv2d({
          x: tf.tensor4d(randomArray(2304, 1), x),
          filter: filt(3, 16, 8),
          strides: 1,
          pad: 'same',
          activation: 'relu6',
        }),
    ],
    [
      'prelu',
      () =>
        tf.fused.conv2d({
          x: tf.tensor4d(randomArray(2304, 1), x),
          filter: filt(3, 16, 8),
          strides: 1,
          pad: 'same',
          activation: 'prelu',
          preluActivationWeights: tf.tensor1d(randomArray(8, 4)),
        }),
    ],
  ];
  for (const [name, f] of fallbacks) {
    it(`falls back to the stock kernel and equals cpu: ${name}`, async () => {
      await expectSameOnCpuAndWasm(f);
    });
  }

  it('is not used below 8 input channels, for strides > 1 or other filters', () => {
    const info = (xs: Shape4, f: Shape4, s: number, d = 1) =>
      tf.backend_util.computeConv2DInfo(xs, f, s, d, 'same');
    expect(winogradApplies(info([1, 8, 8, 8], [3, 3, 8, 8], 1))).toBe(true);
    expect(winogradApplies(info([1, 8, 8, 7], [3, 3, 7, 8], 1))).toBe(false);
    expect(winogradApplies(info([1, 8, 8, 8], [3, 3, 8, 8], 2))).toBe(false);
    expect(winogradApplies(info([1, 8, 8, 8], [3, 3, 8, 8], 1, 2))).toBe(false);
    expect(winogradApplies(info([1, 8, 8, 8], [5, 5, 8, 8], 1))).toBe(false);
    expect(winogradApplies(info([1, 8, 8, 8], [1, 1, 8, 8], 1))).toBe(false);
    const empty = (xs: Shape4) =>
      tf.backend_util.computeConv2DInfo(xs, [3, 3, 8, 8], 1, 1, 'valid');
    expect(winogradApplies(empty([1, 1, 1, 8]))).toBe(false);
    expect(winogradApplies(empty([1, 2, 5, 8]))).toBe(false);
    expect(winogradApplies(empty([0, 5, 5, 8]))).toBe(false);
  });

  it('picks F(4x4) where its tiles save enough positions (winogradTile)', () => {
    const tile = (xs: Shape4, k: number, pad: 'same' | 'valid' = 'same') =>
      winogradTile(tf.backend_util.computeConv2DInfo(xs, [3, 3, xs[3], k], 1, 1, pad));
    // ResNet-20 at batch 64: all three stages
    expect(tile([64, 32, 32, 16], 16)).toBe(4);
    expect(tile([64, 16, 16, 32], 32)).toBe(4);
    expect(tile([64, 8, 8, 64], 64)).toBe(4);
    expect(tile([64, 7, 7, 64], 64)).toBe(4);
    expect(tile([64, 4, 4, 64], 64)).toBe(4);
    expect(tile([1, 32, 32, 16], 16)).toBe(4);
    // partial tiles waste most of F(4x4)'s 6x6 patches
    expect(tile([64, 6, 6, 64], 64)).toBe(2);
    expect(tile([64, 5, 5, 64], 64)).toBe(2);
    expect(tile([64, 9, 9, 64], 64)).toBe(2);
    expect(tile([64, 3, 3, 64], 64)).toBe(2);
    expect(tile([64, 2, 2, 64], 64)).toBe(2);
    expect(tile([64, 10, 10, 8], 8, 'valid')).toBe(4); // 8x8 output
    // one small image: the 36-position filter transform outweighs the saved positions
    expect(tile([1, 8, 8, 64], 64)).toBe(2);
    expect(tile([2, 8, 8, 64], 64)).toBe(2);
    expect(tile([4, 8, 8, 64], 64)).toBe(2);
    expect(tile([8, 8, 8, 64], 64)).toBe(4);
    expect(WINOGRAD4_MIN_SAVED).toBe(512);
    // past 256 input channels F(4x4)'s rounding error nears 1e-4
    expect(tile([8, 8, 8, 256], 64)).toBe(4);
    expect(tile([8, 8, 8, 257], 64)).toBe(2);
    expect(tile([8, 8, 8, 512], 512)).toBe(2);
    expect(WINOGRAD4_MAX_CHANNELS).toBe(256);
  });

  it('rejects a tile size other than 2 or 4 with a one-line error', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 4, 4, 8]);
    const f = tf.zeros([3, 3, 8, 8]);
    const info = tf.backend_util.computeConv2DInfo([1, 4, 4, 8], [3, 3, 8, 8], 1, 1, 'same');
    const backend = tf.backend() as BackendWasm;
    expect(() => winogradConv3x3(backend, x, f, info, null, false, 3 as WinogradTile)).toThrow(
      'winograd: tile must be 2 or 4, got 3',
    );
    tf.dispose([x, f]);
  });

  it('leaks no wasm memory, either tile size called directly (forward and input gradient)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const f = filt(3, 16, 12);
    const b = tf.tensor1d(randomArray(12, 5));
    for (const xs of [
      [2, 8, 8, 16],
      [2, 7, 9, 16],
    ] as Shape4[]) {
      const xt = tf.tensor4d(randomArray(tf.util.sizeFromShape(xs), 6), xs);
      const info = tf.backend_util.computeConv2DInfo(xs, [3, 3, 16, 12], 1, 1, 'same');
      const dy = tf.tensor4d(randomArray(tf.util.sizeFromShape(info.outShape), 7), info.outShape);
      for (const tile of [2, 4, 4] as WinogradTile[]) {
        const before = tf.memory().numTensors;
        const dataIds = backend.numDataIds();
        const y = winogradConv3x3(backend, xt, f, info, b, true, tile)!;
        const dx = winogradInputGrad3x3(backend, dy, f, info, tile)!;
        expect(backend.numDataIds()).toBe(dataIds + 2);
        backend.disposeData(y.dataId);
        backend.disposeData(dx.dataId);
        expect(tf.memory().numTensors).toBe(before);
        expect(backend.numDataIds()).toBe(dataIds);
      }
      tf.dispose([xt, dy]);
    }
    tf.dispose([f, b]);
  });

  it('leaks no wasm memory (direct and cropped outputs, fused and not)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const f = filt(3, 16, 12);
    const b = tf.tensor1d(randomArray(12, 5));
    for (const xs of [
      [2, 8, 8, 16],
      [2, 7, 9, 16],
      [8, 8, 8, 16], // F(4x4)
      [8, 7, 8, 16], // F(4x4), cropped
    ] as Shape4[]) {
      const xt = tf.tensor4d(randomArray(tf.util.sizeFromShape(xs), 6), xs);
      for (let rep = 0; rep < 3; rep++) {
        const before = tf.memory().numTensors;
        const dataIds = backend.numDataIds();
        const y1 = tf.conv2d(xt, f, 1, 'same');
        const y2 = tf.fused.conv2d({
          x: xt,
          filter: f,
          strides: 1,
          pad: 'valid',
          bias: b,
          activation: 'relu',
        });
        tf.dispose([y1, y2]);
        expect(tf.memory().numTensors).toBe(before);
        expect(backend.numDataIds()).toBe(dataIds);
      }
      xt.dispose();
    }
    tf.dispose([f, b]);
  });
});

function filt(size: number, cin: number, cout: number): tf.Tensor4D {
  return tf.tensor4d(randomArray(size * size * cin * cout, size * 100 + cin + cout), [
    size,
    size,
    cin,
    cout,
  ]);
}
