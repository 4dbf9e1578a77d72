// parq-ts's Conv2DBackpropFilter for webgpu (src/backend/webgpu-conv-filter-grad.ts): the split-K
// plan always (pure arithmetic), and the kernel against the cpu backend where an adapter
// exists. No GPU here? SwiftShader's Vulkan driver, shipped with Debian's chromium, is one:
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npx vitest run test/backend-webgpu
// (.ci/run runs this folder so.)
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { setupWebGPU } from '../../src/backend/webgpu.js';
import {
  planFilterGrad,
  useWebGPUConvFilterGrad,
} from '../../src/backend/webgpu-conv-filter-grad.js';

await tf.setBackend('cpu');
const setup = await setupWebGPU();
await tf.setBackend('cpu');

describe('planFilterGrad', () => {
  it.each([
    [144, 16, 128 * 32 * 32],
    [576, 64, 128 * 8 * 8],
    [25, 6, 1 * 28 * 28],
    [9, 1, 1],
    [400, 120, 64],
  ])('m %i, co %i, k %i: the chunks cover k exactly, none empty', (m, co, k) => {
    const p = planFilterGrad(m, co, k);
    const slices = Math.ceil(k / 16);
    expect(p.splits * p.tilesPerSplit).toBeGreaterThanOrEqual(slices);
    expect((p.splits - 1) * p.tilesPerSplit).toBeLessThan(slices);
    expect(p.grid[0] * p.tile.tn).toBeGreaterThanOrEqual(co);
    expect(p.grid[1] * p.tile.tm).toBeGreaterThanOrEqual(m);
    expect(p.grid[2]).toBe(p.splits);
    expect(p.splits * m * co).toBeLessThanOrEqual(16 << 20);
  });

  it('splits the reduction of a small filter over many workgroups', () => {
    // ResNet-20's first stage at batch 128: 5 tiles of output, 131,072 positions
    const p = planFilterGrad(144, 16, 131072);
    expect(p.grid[0] * p.grid[1] * p.grid[2]).toBeGreaterThanOrEqual(256);
  });
});

/** The filter gradient of sum(conv2d(x, f) * dy) on the current backend. */
async function filterGrad(
  xs: Float32Array,
  xShape: number[],
  dys: Float32Array,
  dyShape: number[],
  fShape: [number, number, number, number],
  stride: number,
  pad: 'same' | 'valid',
): Promise<Float32Array> {
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(xs, xShape as [number, number, number, number]);
  const dy = tf.tensor4d(dys, dyShape as [number, number, number, number]);
  const g = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: [stride, stride],
    pad,
    dataFormat: 'NHWC',
    filterShape: fShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const out = (await g.data()) as Float32Array;
  tf.dispose([x, dy, g]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe.runIf(setup.ok)('Conv2DBackpropFilter on a WebGPU adapter', () => {
  it.each([
    // [x shape, filter shape, stride, pad]
    [[1, 7, 9, 3], [3, 3, 3, 5], 1, 'same'],
    [[2, 8, 8, 16], [3, 3, 16, 16], 2, 'same'],
    [[1, 11, 10, 6], [5, 5, 6, 16], 1, 'valid'],
    [[64, 8, 8, 16], [3, 3, 16, 32], 2, 'same'],
    [[64, 9, 7, 3], [3, 3, 3, 17], 2, 'valid'],
    [[3, 6, 6, 1], [1, 1, 1, 40], 1, 'same'],
    [[64, 5, 5, 33], [3, 3, 33, 7], 1, 'same'],
  ] as const)(
    'x %j filter %j stride %i %s: equals cpu within 1e-4',
    async (xShape, fShape, stride, pad) => {
      await tf.setBackend('cpu');
      const x = tf.randomNormal([...xShape], 0, 1, 'float32', 1);
      const y = tf.conv2d(x as tf.Tensor4D, tf.zeros([...fShape]) as tf.Tensor4D, stride, pad);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 2);
      const xs = x.dataSync() as Float32Array;
      const dys = dy.dataSync() as Float32Array;
      const f = [...fShape] as [number, number, number, number];
      const cpu = await filterGrad(xs, [...xShape], dys, y.shape, f, stride, pad);
      tf.dispose([x, y, dy]);
      await tf.setBackend('webgpu');
      const gpu = await filterGrad(xs, [...xShape], dys, y.shape, f, stride, pad);
      expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')).toBeTruthy();
      const scale = Math.max(...cpu.map(Math.abs));
      let worst = 0;
      for (let i = 0; i < cpu.length; i++) worst = Math.max(worst, Math.abs(gpu[i] - cpu[i]));
      expect(worst / scale).toBeLessThan(1e-4);
      await tf.setBackend('cpu');
    },
  );

  it('is the kernel webgpu runs, and tfjs own stays reachable for comparison', async () => {
    await tf.setBackend('webgpu');
    const ours = tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc;
    expect(useWebGPUConvFilterGrad('tfjs')).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc).not.toBe(ours);
    expect(useWebGPUConvFilterGrad('parq')).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc).toBe(ours);
    await tf.setBackend('cpu');
  });
});
