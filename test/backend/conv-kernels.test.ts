// Conv2DBackpropFilter (added to wasm) and Conv2DBackpropInput (replaced on wasm) equal the
// cpu backend's kernels on random inputs: strides 1 and 2 (and 3), padding same / valid /
// explicit, several filter sizes, channel counts and batch sizes, dilation 1.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  conv2dBackpropFilterNHWC,
  type FilterGradMethod,
} from '../../src/backend/wasm/conv2d-backprop-filter.js';
import {
  conv2dBackpropInputNHWC,
  inputGradMethodFor,
  type InputGradMethod,
} from '../../src/backend/wasm/conv2d-backprop-input.js';
import { conv2dImplicitGemm, implicitGemmPreferred } from '../../src/backend/wasm/conv2d.js';
import type { BackendWasm } from '../../src/backend/wasm/kernel-utils.js';
import { simdKernelsFor } from '../../src/backend/wasm/simd/index.js';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
} from '../../src/backend/wasm/register.js';
import { expectClose, expectSameOnCpuAndWasm, randomArray, runOn } from './compare.js';

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number | [number, number];
  pad: Pad;
}

const CASES: Case[] = [];
for (const stride of [1, 2] as const) {
  for (const pad of ['same', 'valid'] as const) {
    CASES.push(
      { x: [2, 8, 8, 1], filter: [5, 5, 1, 6], stride, pad }, // LeNet conv1-like
      { x: [3, 9, 10, 6], filter: [5, 5, 6, 16], stride, pad }, // LeNet conv2-like, odd sizes
      { x: [2, 8, 8, 16], filter: [3, 3, 16, 16], stride, pad }, // ResNet block
      { x: [1, 7, 7, 16], filter: [3, 3, 16, 32], stride, pad }, // ResNet downsampling
      { x: [2, 8, 8, 16], filter: [1, 1, 16, 32], stride, pad }, // 1x1 shortcut
      { x: [3, 6, 7, 3], filter: [3, 3, 3, 4], stride, pad }, // RGB stem
      { x: [1, 5, 5, 2], filter: [2, 3, 2, 1], stride, pad }, // non-square filter, 1 output
      { x: [2, 10, 9, 8], filter: [4, 4, 8, 5], stride, pad }, // even filter: asymmetric same pad
    );
  }
}
CASES.push(
  { x: [2, 11, 10, 4], filter: [3, 3, 4, 6], stride: 3, pad: 'same' },
  { x: [2, 11, 10, 4], filter: [3, 2, 4, 6], stride: [2, 1], pad: 'valid' },
  {
    x: [2, 7, 8, 3],
    filter: [3, 3, 3, 4],
    stride: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  },
  {
    x: [2, 9, 8, 3],
    filter: [3, 3, 3, 4],
    stride: 2,
    pad: [
      [0, 0],
      [1, 1],
      [0, 2],
      [0, 0],
    ],
  },
);

// Batch 64, as the benchmarks train (the SIMD path accumulates over chunks of images).
CASES.push(
  { x: [64, 12, 12, 1], filter: [5, 5, 1, 6], stride: 1, pad: 'same' },
  { x: [64, 7, 9, 16], filter: [3, 3, 16, 16], stride: 2, pad: 'same' },
  { x: [64, 9, 7, 5], filter: [3, 3, 5, 12], stride: 1, pad: 'valid' },
  { x: [64, 14, 14, 6], filter: [5, 5, 6, 16], stride: 1, pad: 'valid' }, // LeNet-5 conv2
  { x: [1, 9, 11, 7], filter: [5, 3, 7, 3], stride: 2, pad: 'same' }, // 21 floats a row
  { x: [2, 8, 9, 9], filter: [4, 5, 9, 5], stride: 1, pad: 'same' }, // 45: two blocks
  { x: [2, 9, 8, 3], filter: [3, 5, 3, 4], stride: 2, pad: 'valid' }, // 15
);

// The input gradient's phases: an even filter at stride 2 (one or two taps a phase), a 1x1
// filter at stride 2 on odd sizes (pixels no tap reaches), stride 3 with a 2x2 filter (a
// phase with no taps), strides differing per axis, 9 input channels (two blocks of 8, the
// second one lane), and ResNet-20's downsampling layers at batch 64.
CASES.push(
  { x: [2, 9, 11, 9], filter: [2, 2, 9, 5], stride: 2, pad: 'same' },
  { x: [3, 7, 9, 5], filter: [1, 1, 5, 7], stride: 2, pad: 'valid' },
  { x: [1, 10, 8, 3], filter: [2, 2, 3, 4], stride: 3, pad: 'same' },
  { x: [2, 9, 10, 4], filter: [4, 3, 4, 6], stride: [1, 2], pad: 'valid' },
  { x: [64, 8, 8, 32], filter: [3, 3, 32, 64], stride: 2, pad: 'same' },
  { x: [64, 7, 7, 16], filter: [1, 1, 16, 32], stride: 2, pad: 'same' },
);

const describeCase = (c: Case): string =>
  `x ${c.x.join('x')} filter ${c.filter.join('x')} stride ${String(c.stride)} pad ${JSON.stringify(c.pad)}`;

function outShape(c: Case): number[] {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad as 'same').outShape;
}

function seedOf(c: Case, salt: number): number {
  return c.x.reduce((a, b) => a * 31 + b, salt) + c.filter.reduce((a, b) => a * 17 + b, 0);
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  replaceSlowWasmKernels();
  // Test-only kernels that force each formulation of the filter gradient.
  for (const method of ['conv', 'im2col', 'simd', 'winograd'] as FilterGradMethod[]) {
    tf.registerKernel({
      kernelName: `ParqTestFilterGrad_${method}`,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
        const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
        const info = tf.backend_util.computeConv2DInfo(
          x.shape as [number, number, number, number],
          a.filterShape,
          a.strides,
          1,
          a.pad,
        );
        return conv2dBackpropFilterNHWC(backend as BackendWasm, x, dy, info, method);
      },
    });
  }
  // ... and of the input gradient.
  for (const method of ['conv', 'simd', 'phase', 'winograd'] as InputGradMethod[]) {
    tf.registerKernel({
      kernelName: `ParqTestInputGrad_${method}`,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
        const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
        const info = tf.backend_util.computeConv2DInfo(
          a.inputShape,
          filter.shape as [number, number, number, number],
          a.strides,
          1,
          a.pad,
        );
        const dx = conv2dBackpropInputNHWC(backend as BackendWasm, dy, filter, info, method);
        if (dx === null) throw new Error('padding outside what the replacement handles');
        return dx;
      },
    });
  }
});

describe('Conv2DBackpropFilter on wasm', () => {
  it('is registered for wasm', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('has the SIMD kernels on the single-threaded wasm heap (so the simd cases test them)', async () => {
    await tf.setBackend('wasm');
    expect(simdKernelsFor(tf.backend() as BackendWasm)).not.toBeNull();
  });

  for (const c of CASES) {
    it(`equals cpu, every formulation: ${describeCase(c)}`, async () => {
      const xv = randomArray(tf.util.sizeFromShape(c.x), seedOf(c, 1));
      const dyShape = outShape(c);
      const dyv = randomArray(tf.util.sizeFromShape(dyShape), seedOf(c, 2));
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
      const run = (kernel: string) => () =>
        tf
          .engine()
          .runKernel(
            kernel,
            { x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, dyShape) },
            attrs as never,
          ) as tf.Tensor;
      const [expected] = await runOn('cpu', run('Conv2DBackpropFilter'));
      for (const kernel of [
        'Conv2DBackpropFilter',
        'ParqTestFilterGrad_conv',
        'ParqTestFilterGrad_im2col',
        'ParqTestFilterGrad_simd',
        'ParqTestFilterGrad_winograd', // falls back to simd where it does not apply
      ]) {
        const [actual] = await runOn('wasm', run(kernel));
        expectClose(actual, expected);
      }
    });
  }

  it('gives the filter gradient of tf.conv2d through tf.grads', async () => {
    const c: Case = { x: [3, 9, 9, 4], filter: [3, 3, 4, 8], stride: 2, pad: 'same' };
    const xv = randomArray(tf.util.sizeFromShape(c.x), 11);
    const fv = randomArray(tf.util.sizeFromShape(c.filter), 12);
    const wv = randomArray(tf.util.sizeFromShape(outShape(c)), 13);
    await expectSameOnCpuAndWasm(() => {
      const loss = (x: tf.Tensor4D, f: tf.Tensor4D) =>
        tf
          .conv2d(x, f, 2, 'same')
          .mul(tf.tensor(wv, outShape(c)))
          .sum();
      return tf.grads(loss as (...a: tf.Tensor[]) => tf.Tensor)([
        tf.tensor4d(xv, c.x),
        tf.tensor4d(fv, c.filter),
      ]);
    });
  });

  it('handles NCHW inputs', async () => {
    const x: [number, number, number, number] = [2, 3, 7, 6];
    const filter: [number, number, number, number] = [3, 3, 3, 5];
    const dyShape = [2, 5, 4, 3];
    const xv = randomArray(tf.util.sizeFromShape(x), 21);
    const dyv = randomArray(tf.util.sizeFromShape(dyShape), 22);
    await expectSameOnCpuAndWasm(
      () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x: tf.tensor(xv, x), dy: tf.tensor(dyv, dyShape) }, {
            strides: 2,
            pad: 'same',
            dataFormat: 'NCHW',
            filterShape: filter,
          } as never) as tf.Tensor,
    );
  });

  it('leaks no wasm memory', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomArray(2 * 8 * 8 * 4, 5), [2, 8, 8, 4]);
    const dy = tf.tensor(randomArray(2 * 4 * 4 * 6, 6), [2, 4, 4, 6]);
    for (const kernel of [
      'ParqTestFilterGrad_conv',
      'ParqTestFilterGrad_im2col',
      'ParqTestFilterGrad_simd',
    ]) {
      const before = tf.memory().numTensors;
      const dataIds = (tf.backend() as BackendWasm).numDataIds();
      const out = tf.engine().runKernel(kernel, { x, dy }, {
        strides: 2,
        pad: 'same',
        dataFormat: 'NHWC',
        filterShape: [3, 3, 4, 6],
      } as never) as tf.Tensor;
      out.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect((tf.backend() as BackendWasm).numDataIds()).toBe(dataIds);
    }
    tf.dispose([x, dy]);
  });
});

describe('Conv2D of one input channel on wasm (replaced)', () => {
  // conv_8: four pixels of a row at a time, then the rest one by one; output channels in
  // blocks of 8, the last one partly stored.
  const ONE: Case[] = CASES.filter((c) => c.x[3] === 1);
  for (const stride of [1, 2, [2, 1]] as Array<number | [number, number]>) {
    for (const pad of ['same', 'valid'] as const) {
      ONE.push(
        { x: [64, 28, 28, 1], filter: [5, 5, 1, 6], stride, pad }, // LeNet-5 conv1
        { x: [1, 9, 7, 1], filter: [3, 2, 1, 17], stride, pad },
        { x: [3, 6, 11, 1], filter: [2, 3, 1, 3], stride, pad },
        { x: [2, 5, 5, 1], filter: [5, 5, 1, 8], stride, pad },
      );
    }
  }
  ONE.push({
    x: [2, 7, 8, 1],
    filter: [3, 3, 1, 5],
    stride: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  });
  for (const c of ONE) {
    it(`equals cpu: ${describeCase(c)}`, async () => {
      const xv = randomArray(tf.util.sizeFromShape(c.x), seedOf(c, 5));
      const fv = randomArray(tf.util.sizeFromShape(c.filter), seedOf(c, 6));
      await expectSameOnCpuAndWasm(() =>
        tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.filter), c.stride, c.pad as 'same'),
      );
    });
  }

  it('leaks no wasm memory (padded and unpadded)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomArray(2 * 9 * 9, 9), [2, 9, 9, 1]);
    const f = tf.tensor(randomArray(3 * 3 * 10, 10), [3, 3, 1, 10]);
    for (const pad of ['same', 'valid'] as const) {
      const before = tf.memory().numTensors;
      const dataIds = (tf.backend() as BackendWasm).numDataIds();
      const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, pad);
      expect(y.shape).toEqual(pad === 'same' ? [2, 5, 5, 10] : [2, 4, 4, 10]);
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect((tf.backend() as BackendWasm).numDataIds()).toBe(dataIds);
    }
    tf.dispose([x, f]);
  });
});

describe('Conv2D and FusedConv2D of several input channels on the implicit GEMM (conv_8)', () => {
  // A filter row's patch is fw * c floats: the taps of every channel in turn.
  const MULTI: Case[] = [];
  for (const stride of [1, 2, [2, 1]] as Array<number | [number, number]>) {
    for (const pad of ['same', 'valid'] as const) {
      MULTI.push(
        { x: [2, 32, 32, 3], filter: [3, 3, 3, 16], stride, pad }, // ResNet-20's stem
        { x: [2, 9, 9, 16], filter: [3, 3, 16, 32], stride, pad }, // its stride-2 layers
        { x: [3, 7, 6, 6], filter: [5, 5, 6, 16], stride, pad }, // LeNet-5 conv2
        { x: [1, 5, 5, 17], filter: [3, 3, 17, 9], stride, pad }, // odd channels in and out
        { x: [2, 6, 7, 5], filter: [2, 3, 5, 12], stride, pad },
      );
    }
  }
  MULTI.push({
    x: [2, 7, 8, 4],
    filter: [3, 3, 4, 10],
    stride: 2,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  });
  for (const c of MULTI) {
    const xv = randomArray(tf.util.sizeFromShape(c.x), seedOf(c, 7));
    const fv = randomArray(tf.util.sizeFromShape(c.filter), seedOf(c, 8));
    it(`equals cpu, called directly: ${describeCase(c)}`, async () => {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad as 'same');
      const [expected] = await runOn('cpu', () =>
        tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.filter), c.stride, c.pad as 'same'),
      );
      await tf.setBackend('wasm');
      const backend = tf.backend() as BackendWasm;
      const simd = simdKernelsFor(backend);
      expect(simd).not.toBeNull();
      const x = tf.tensor4d(xv, c.x);
      const f = tf.tensor4d(fv, c.filter);
      const y = tf
        .engine()
        .makeTensorFromTensorInfo(conv2dImplicitGemm(backend, simd!, x, f, info));
      expect(y.shape).toEqual(info.outShape);
      expectClose(y.dataSync(), expected);
      tf.dispose([x, f, y]);
    });
    it(`equals cpu through Conv2D and FusedConv2D: ${describeCase(c)}`, async () => {
      await expectSameOnCpuAndWasm(() =>
        tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.filter), c.stride, c.pad as 'same'),
      );
      await expectSameOnCpuAndWasm(() =>
        tf.fused.conv2d({
          x: tf.tensor4d(xv, c.x),
          filter: tf.tensor4d(fv, c.filter),
          strides: c.stride,
          pad: c.pad as 'same',
        }),
      );
    });
  }

  it('is the default for filters larger than 1x1 (and one channel), not for 1x1 or dilation', () => {
    const info = (xs: Case['x'], f: Case['filter'], s: number, d = 1) =>
      tf.backend_util.computeConv2DInfo(xs, f, s, d, 'same');
    expect(implicitGemmPreferred(info([64, 32, 32, 16], [3, 3, 16, 32], 2))).toBe(true);
    expect(implicitGemmPreferred(info([64, 32, 32, 3], [3, 3, 3, 16], 1))).toBe(true);
    expect(implicitGemmPreferred(info([64, 28, 28, 1], [1, 1, 1, 6], 1))).toBe(true);
    expect(implicitGemmPreferred(info([64, 32, 32, 16], [1, 1, 16, 32], 2))).toBe(false);
    expect(implicitGemmPreferred(info([8, 9, 9, 16], [3, 3, 16, 8], 1, 2))).toBe(false);
  });
});

describe('Conv2DBackpropInput on wasm (replaced)', () => {
  for (const c of CASES) {
    it(`equals cpu, every formulation: ${describeCase(c)}`, async () => {
      const fv = randomArray(tf.util.sizeFromShape(c.filter), seedOf(c, 3));
      const dyShape = outShape(c);
      const dyv = randomArray(tf.util.sizeFromShape(dyShape), seedOf(c, 4));
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
      const run = (kernel: string) => () =>
        tf
          .engine()
          .runKernel(
            kernel,
            { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(fv, c.filter) },
            attrs as never,
          ) as tf.Tensor;
      const [cpu] = await runOn('cpu', run('Conv2DBackpropInput'));
      for (const kernel of [
        'Conv2DBackpropInput',
        'ParqTestInputGrad_conv',
        'ParqTestInputGrad_simd',
        'ParqTestInputGrad_phase',
      ]) {
        const [wasm] = await runOn('wasm', run(kernel));
        try {
          expectClose(wasm, cpu);
        } catch (e) {
          throw new Error(`${kernel}: ${(e as Error).message}`, { cause: e });
        }
      }
    });
  }

  it('leaks no wasm memory, any formulation (padded and unpadded)', async () => {
    await tf.setBackend('wasm');
    const f = tf.tensor(randomArray(3 * 3 * 4 * 6, 7), [3, 3, 4, 6]);
    const dy = tf.tensor(randomArray(2 * 4 * 4 * 6, 8), [2, 4, 4, 6]);
    for (const kernel of [
      'ParqTestInputGrad_conv',
      'ParqTestInputGrad_simd',
      'ParqTestInputGrad_phase',
    ]) {
      for (const [pad, inputShape] of [
        ['same', [2, 8, 8, 4]],
        ['valid', [2, 6, 6, 4]],
      ] as const) {
        const before = tf.memory().numTensors;
        const dataIds = (tf.backend() as BackendWasm).numDataIds();
        const out = tf.engine().runKernel(kernel, { dy, filter: f }, {
          strides: pad === 'same' ? 2 : 1,
          pad,
          dataFormat: 'NHWC',
          inputShape,
        } as never) as tf.Tensor;
        expect(out.shape).toEqual(inputShape);
        out.dispose();
        expect(tf.memory().numTensors).toBe(before);
        expect((tf.backend() as BackendWasm).numDataIds()).toBe(dataIds);
      }
    }
    tf.dispose([f, dy]);
  });

  it('keeps the wasm heap and the tensor count steady over repeated calls', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const heapBytes = () =>
      (backend as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
    const f = tf.tensor(randomArray(3 * 3 * 16 * 32, 9), [3, 3, 16, 32]);
    const dy = tf.tensor(randomArray(8 * 5 * 5 * 32, 10), [8, 5, 5, 32]);
    const x = tf.tensor(randomArray(8 * 10 * 10 * 16, 11), [8, 10, 10, 16]);
    const call = () => {
      for (const method of ['conv', 'simd', 'phase', 'winograd']) {
        tf.dispose(
          tf.engine().runKernel(`ParqTestInputGrad_${method}`, { dy, filter: f }, {
            strides: 2,
            pad: 'same',
            dataFormat: 'NHWC',
            inputShape: [8, 10, 10, 16],
          } as never),
        );
      }
      tf.dispose(
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
          strides: 2,
          pad: 'same',
          dataFormat: 'NHWC',
          filterShape: [3, 3, 16, 32],
        } as never),
      );
    };
    call();
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    const heap = heapBytes();
    for (let i = 0; i < 20; i++) call();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
    expect(heapBytes()).toBe(heap);
    tf.dispose([f, dy, x]);
  });

  it('picks the formulation by the work each does, the same for the same shape', () => {
    const info = (x: number[], f: number[], stride: number, pad: 'same' | 'valid') =>
      tf.backend_util.computeConv2DInfo(
        x as [number, number, number, number],
        f as [number, number, number, number],
        stride,
        1,
        pad,
      );
    // ResNet-20's stride-1 3x3 input gradients (and the RGB stem's: dy has 16 channels):
    // Winograd; its downsampling and 1x1 projection layers: the phases.
    for (const [x, f, s, method] of [
      [[64, 32, 32, 3], [3, 3, 3, 16], 1, 'winograd'],
      [[64, 32, 32, 16], [3, 3, 16, 16], 1, 'winograd'],
      [[64, 32, 32, 16], [3, 3, 16, 32], 2, 'phase'],
      [[64, 32, 32, 16], [1, 1, 16, 32], 2, 'phase'],
      [[64, 16, 16, 32], [3, 3, 32, 32], 1, 'winograd'],
      [[64, 16, 16, 32], [3, 3, 32, 64], 2, 'phase'],
      [[64, 16, 16, 32], [1, 1, 32, 64], 2, 'phase'],
      [[64, 8, 8, 64], [3, 3, 64, 64], 1, 'winograd'],
    ] as [number[], number[], number, InputGradMethod][]) {
      expect(inputGradMethodFor(info(x, f, s, 'same'))).toBe(method);
    }
    // dy with fewer than 8 channels: not Winograd.
    expect(inputGradMethodFor(info([4, 8, 8, 16], [3, 3, 16, 4], 1, 'same'))).toBe('phase');
    // LeNet-5's second convolution ('valid' 5x5: the phases would multiply the padding too).
    const lenet = info([64, 14, 14, 6], [5, 5, 6, 16], 1, 'valid');
    expect(inputGradMethodFor(lenet)).toBe('simd');
    expect(inputGradMethodFor(info([64, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'))).toBe(
      inputGradMethodFor(lenet),
    );
  });

  it('gives the input gradient of tf.conv2d and the output of tf.conv2dTranspose', async () => {
    const xv = randomArray(2 * 10 * 10 * 6, 31);
    const fv = randomArray(5 * 5 * 6 * 16, 32);
    const wv = randomArray(2 * 5 * 5 * 16, 33);
    await expectSameOnCpuAndWasm(() => {
      const f = tf.tensor4d(fv, [5, 5, 6, 16]);
      const w = tf.tensor4d(wv, [2, 5, 5, 16]);
      const dx = tf.grad((x) =>
        tf
          .conv2d(x as tf.Tensor4D, f, 2, 'same')
          .mul(w)
          .sum(),
      )(tf.tensor4d(xv, [2, 10, 10, 6]));
      const up = tf.conv2dTranspose(w, f, [2, 10, 10, 6], 2, 'same');
      return [dx, up];
    });
  });

  it('handles explicit padding wider than the filter (SIMD; else the stock kernel)', async () => {
    const fv = randomArray(2 * 2 * 3 * 4, 41);
    const dyv = randomArray(1 * 8 * 8 * 4, 42);
    await expectSameOnCpuAndWasm(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropInput',
            { dy: tf.tensor(dyv, [1, 8, 8, 4]), filter: tf.tensor(fv, [2, 2, 3, 4]) },
            {
              strides: 1,
              pad: [
                [0, 0],
                [3, 0],
                [0, 3],
                [0, 0],
              ],
              dataFormat: 'NHWC',
              inputShape: [1, 6, 6, 3],
            } as never,
          ) as tf.Tensor,
    );
  });
});
