/// <reference types="node" />
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { saveModelToDir } from '../../src/models/index.js';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, toTensors, type Dataset } from '../../src/data/index.js';
import { exportOnnx, exportQuantized } from '../../src/export/index.js';
import { mlp, resnet20 } from '../../src/index.js';
import {
  LSBQuantizer,
  quantizeTensor,
  StretchedUnifQuantizer,
  TernaryUnifQuantizer,
  UnifQuantizer,
  type Granularity,
  type Quantizer,
} from '../../src/quant/index.js';
import { useBackend } from '../helpers.js';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null = null;
try {
  ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
} catch (e) {
  console.warn(
    `onnx tests skipped: onnxruntime-node cannot load (${(e as Error).message.split('\n')[0]})`,
  );
}

let data: Dataset;
beforeAll(async () => {
  await useBackend('cpu');
  data = loadDataset('mnist');
});

/** Sets every Dense/Conv kernel of `model` to its quantized values. */
function quantizeKernels(
  model: tf.LayersModel,
  quantizer: Quantizer,
  bits: number,
  g: Granularity,
): void {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length || !['Dense', 'Conv2D'].includes(layer.getClassName())) continue;
    const { q, levels } = quantizeTensor(quantizer, ws[0], bits, g);
    layer.setWeights([q, ...ws.slice(1)]);
    tf.dispose([q, levels]);
  }
}

async function ortPredict(bytes: Uint8Array, x: tf.Tensor): Promise<Float32Array> {
  const session = await ort!.InferenceSession.create(bytes);
  const input = new ort!.Tensor('float32', x.dataSync() as Float32Array, x.shape);
  const result = await session.run({ input });
  await session.release();
  return result.output.data as Float32Array;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const cases: {
  label: string;
  quantizer: Quantizer;
  bits: number;
  granularity: Granularity;
  encoding: string;
}[] = [
  {
    label: 'uniform 2 bits per tensor',
    quantizer: new UnifQuantizer(),
    bits: 2,
    granularity: { kind: 'tensor' },
    encoding: 'MatMulNBits',
  },
  {
    label: 'uniform 4 bits per channel',
    quantizer: new UnifQuantizer(),
    bits: 4,
    granularity: { kind: 'channel' },
    encoding: 'MatMulNBits',
  },
  {
    label: 'Stretched 2 bits per block of 16',
    quantizer: new StretchedUnifQuantizer(),
    bits: 2,
    granularity: { kind: 'block', blockSize: 16 },
    encoding: 'MatMulNBits',
  },
  {
    label: 'uniform 8 bits per tensor',
    quantizer: new UnifQuantizer(),
    bits: 8,
    granularity: { kind: 'tensor' },
    encoding: 'MatMulNBits',
  },
  {
    label: 'Stretched 3 bits per channel (as 4-bit MatMulNBits)',
    quantizer: new StretchedUnifQuantizer(),
    bits: 3,
    granularity: { kind: 'channel' },
    encoding: 'MatMulNBits',
  },
  {
    label: 'uniform 3 bits per block of 16 (as 4-bit MatMulNBits)',
    quantizer: new UnifQuantizer(),
    bits: 3,
    granularity: { kind: 'block', blockSize: 16 },
    encoding: 'MatMulNBits',
  },
  {
    label: 'uniform 6 bits per tensor (as 8-bit MatMulNBits)',
    quantizer: new UnifQuantizer(),
    bits: 6,
    granularity: { kind: 'tensor' },
    encoding: 'MatMulNBits',
  },
  {
    label: 'LSBQ 2 bits per channel (gather)',
    quantizer: new LSBQuantizer(),
    bits: 2,
    granularity: { kind: 'channel' },
    encoding: 'gather',
  },
];

describe.skipIf(!ort)('exportOnnx, run by onnxruntime-node', () => {
  it.each(cases)('MLP $label: predictions on the test split equal tfjs within 1e-4', async (c) => {
    const model = mlp({ inputShape: data.inputShape, numClasses: 10, hidden: [64, 32], seed: 1 });
    quantizeKernels(model, c.quantizer, c.bits, c.granularity);
    const { bytes, tensors } = await exportOnnx(model, undefined, {
      bits: c.bits,
      granularity: c.granularity,
    });
    expect(tensors.filter((t) => t.name.endsWith('/kernel')).map((t) => t.encoding)).toEqual([
      c.encoding,
      c.encoding,
      c.encoding,
    ]);
    const { x, y } = toTensors(data.test, data.inputShape);
    const want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    expect(maxAbsDiff(await ortPredict(bytes, x), want)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('mixed precision: bits per tensor (4-bit, LSBQ 2-bit gathered, 3-bit as 4, 8-bit) run with equal predictions', async () => {
    const model = mlp({
      inputShape: data.inputShape,
      numClasses: 10,
      hidden: [64, 32, 32],
      seed: 5,
    });
    const plan: Record<string, [Quantizer, number]> = {
      fc1: [new UnifQuantizer(), 4],
      fc2: [new LSBQuantizer(), 2],
      fc3: [new StretchedUnifQuantizer(), 3],
      logits: [new UnifQuantizer(), 8],
    };
    for (const layer of model.layers) {
      const p = plan[layer.name];
      if (!p) continue;
      const ws = layer.getWeights();
      const { q, levels } = quantizeTensor(p[0], ws[0], p[1], { kind: 'channel' });
      layer.setWeights([q, ...ws.slice(1)]);
      tf.dispose([q, levels]);
    }
    const bits = Object.fromEntries(Object.entries(plan).map(([n, [, b]]) => [`${n}/kernel`, b]));
    const { bytes, tensors } = await exportOnnx(model, undefined, {
      bits,
      granularity: { kind: 'channel' },
    });
    expect(tensors.map((t) => [t.name, t.encoding, t.bits, t.levelBits])).toEqual([
      ['fc1/kernel', 'MatMulNBits', 4, undefined],
      ['fc2/kernel', 'gather', 2, undefined],
      ['fc3/kernel', 'MatMulNBits', 4, 3],
      ['logits/kernel', 'MatMulNBits', 8, undefined],
    ]);
    const { x, y } = toTensors(data.test, data.inputShape);
    const want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    expect(maxAbsDiff(await ortPredict(bytes, x), want)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('ResNet-20 at 4 bits per channel (convolutions gathered, logits MatMulNBits) runs with equal predictions', async () => {
    const model = resnet20({ inputShape: [32, 32, 3], numClasses: 10, seed: 2 });
    quantizeKernels(model, new UnifQuantizer(), 4, { kind: 'channel' });
    const { bytes, tensors } = await exportOnnx(model, undefined, {
      bits: 4,
      granularity: { kind: 'channel' },
    });
    expect(tensors.find((t) => t.name === 'logits/kernel')?.encoding).toBe('MatMulNBits');
    expect(tensors.find((t) => t.name === 'stem_conv/kernel')?.encoding).toBe('gather');
    const x = tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 3);
    const want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    expect(maxAbsDiff(await ortPredict(bytes, x), want)).toBeLessThanOrEqual(1e-4);
    x.dispose();
    model.dispose();
  });

  it('the protocol 2-bit MLP (784-256-256-10) is at most 1.25x its packed file', async () => {
    const model = mlp({ inputShape: data.inputShape, numClasses: 10, seed: 0 });
    quantizeKernels(model, new UnifQuantizer(), 2, { kind: 'tensor' });
    const onnx = (await exportOnnx(model, undefined, { bits: 2 })).bytes.length;
    const packed = (await exportQuantized(model, undefined, { bits: 2 })).length;
    console.log(
      `protocol MLP 2 bits: onnx ${onnx} bytes, packed ${packed} bytes, ratio ${(onnx / packed).toFixed(3)}`,
    );
    expect(onnx / packed).toBeLessThanOrEqual(1.25);
    model.dispose();
  });

  it('parq export --format onnx writes a file onnxruntime runs (ternary per channel -> MatMulNBits)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parq-onnx-'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const model = mlp({ inputShape: data.inputShape, numClasses: 10, hidden: [32], seed: 4 });
      quantizeKernels(model, new TernaryUnifQuantizer(), 0, { kind: 'channel' });
      await saveModelToDir(model, join(dir, 'model'));
      const out = join(dir, 'model.onnx');
      const argv = [
        'export',
        join(dir, 'model'),
        '--format',
        'onnx',
        '--out',
        out,
        '--bits',
        'ternary',
        '--per-channel',
      ];
      expect(await main(argv)).toBe(0);
      expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toContain(
        'fc1/kernel: MatMulNBits 2 bits',
      );
      const { x, y } = toTensors(data.test, data.inputShape);
      const want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
      expect(
        maxAbsDiff(await ortPredict(new Uint8Array(readFileSync(out)), x), want),
      ).toBeLessThanOrEqual(1e-4);
      tf.dispose([x, y]);
      model.dispose();
    } finally {
      log.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
