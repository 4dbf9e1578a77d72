/// <reference types="node" />
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchOrder,
  gatherBatch,
  loadDataset,
  toTensors,
  type Dataset,
} from '../../src/data/index.js';
import {
  describePacked,
  exportQuantized,
  loadQuantized,
  parsePacked,
  type ExportOptions,
} from '../../src/export/index.js';
import { ADMMQOptimizer } from '../../src/optim/admm/index.js';
import { QuantOptimizer } from '../../src/optim/index.js';
import { ProxPARQ } from '../../src/prox/index.js';
import {
  LSBQuantizer,
  StretchedUnifQuantizer,
  TernaryUnifQuantizer,
  UnifQuantizer,
  type Granularity,
  type Quantizer,
} from '../../src/quant/index.js';

let data: Dataset;
beforeAll(() => {
  data = loadDataset('mnist');
});

function tinyMlp(seed: number): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k });
  return tf.sequential({
    name: 'tiny',
    layers: [
      tf.layers.flatten({ name: 'flatten', inputShape: [28, 28, 1] }),
      tf.layers.dense({ name: 'fc1', units: 32, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ name: 'logits', units: 10, kernelInitializer: init(2) }),
      tf.layers.activation({ name: 'softmax', activation: 'softmax' }),
    ],
  });
}

/** `steps` QAT steps of batch 64 on the mnist train split. */
function train(model: tf.LayersModel, optimizer: tf.Optimizer, steps: number): void {
  const order = batchOrder(data.train.n, 64, 1, 0);
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      const { x, y } = gatherBatch(data.train, order[s], data.inputShape);
      optimizer.minimize(() =>
        tf.losses.softmaxCrossEntropy(
          tf.oneHot(tf.cast(y, 'int32'), 10),
          model.apply(x) as tf.Tensor,
        ),
      );
    });
  }
}

/** The test split's inputs on the current backend (made once per backend). */
let testX: tf.Tensor | null = null;

/** Predictions on the whole test split, as raw float32 bits. */
function predictBits(model: tf.LayersModel): Uint32Array {
  const p = model.predict(testX as tf.Tensor) as tf.Tensor;
  const bits = new Uint32Array((p.dataSync() as Float32Array).slice().buffer);
  p.dispose();
  return bits;
}

const weightBits = (m: tf.LayersModel) =>
  Object.fromEntries(
    m.weights.map((w) => [
      w.originalName,
      new Uint32Array((w.read().dataSync() as Float32Array).slice().buffer),
    ]),
  );

interface Case {
  label: string;
  quantizer: Quantizer;
  bits: number;
  granularity: Granularity;
  steps: number;
  options?: ExportOptions;
  onWasm?: boolean;
}

const cases: Case[] = [
  {
    label: 'LSBQ 2 bits per tensor',
    onWasm: true,
    quantizer: new LSBQuantizer(),
    bits: 2,
    granularity: { kind: 'tensor' },
    steps: 12,
  },
  // the last step (10) refreshes the levels: the weights are then the quantizer's own q
  {
    label: 'LSBQ 1 bit per channel, ending on a refresh step',
    onWasm: true,
    quantizer: new LSBQuantizer(),
    bits: 1,
    granularity: { kind: 'channel' },
    steps: 11,
  },
  {
    label: 'uniform ternary per channel, base-3 packing',
    onWasm: true,
    quantizer: new TernaryUnifQuantizer(),
    bits: 0,
    granularity: { kind: 'channel' },
    steps: 12,
  },
  {
    label: 'uniform ternary per tensor, 2-bit packing, plain header',
    quantizer: new TernaryUnifQuantizer(),
    bits: 0,
    granularity: { kind: 'tensor' },
    steps: 12,
    options: { ternaryPacking: 'bits', compressHeader: false },
  },
  {
    label: 'uniform 4 bits per block of 16',
    quantizer: new UnifQuantizer(),
    bits: 4,
    granularity: { kind: 'block', blockSize: 16 },
    steps: 12,
  },
  {
    label: 'LSBQ 3 bits (indices straddle bytes)',
    quantizer: new LSBQuantizer(),
    bits: 3,
    granularity: { kind: 'channel' },
    steps: 12,
  },
  {
    label: "torchao's Stretched 3 bits per block of 16 (indices straddle bytes)",
    quantizer: new StretchedUnifQuantizer(),
    bits: 3,
    granularity: { kind: 'block', blockSize: 16 },
    steps: 12,
  },
];

describe.each(['cpu', 'wasm'] as const)('export -> load round trip on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    const { x, y } = toTensors(data.test, data.inputShape);
    y.dispose();
    testX = x;
  });
  afterAll(() => {
    testX?.dispose();
    testX = null;
  });

  // The file format does not depend on the backend: every case runs on cpu, a few on wasm too.
  const here = backend === 'cpu' ? cases : cases.filter((c) => c.onWasm);
  it.each(here)('$label: same weights bit for bit, same test-set predictions', async (c) => {
    const model = tinyMlp(3);
    const optimizer = new QuantOptimizer({
      base: tf.train.momentum(0.05, 0.9),
      quantizer: c.quantizer,
      bits: c.bits,
      granularity: c.granularity,
    });
    train(model, optimizer, c.steps);
    const bytes = await exportQuantized(model, optimizer, {
      ...c.options,
      metadata: { case: c.label },
    });
    const loaded = await loadQuantized(bytes);
    expect(weightBits(loaded)).toEqual(weightBits(model));
    expect(predictBits(loaded)).toEqual(predictBits(model));
    const info = await describePacked(bytes);
    expect(info.metadata).toEqual({ case: c.label });
    expect(info.quantizedParameters).toBe(784 * 32 + 32 * 10);
    expect(info.tensors.filter((t) => t.encoding === 'levels').map((t) => t.bits)).toEqual([
      c.bits,
      c.bits,
    ]);
    loaded.dispose();
    model.dispose();
    optimizer.dispose();
  });

  it('PARQ past annealEnd, exported without the optimizer (levels from distinct values)', async () => {
    const model = tinyMlp(4);
    const optimizer = new QuantOptimizer({
      base: tf.train.momentum(0.05, 0.9),
      prox: new ProxPARQ({ annealStart: 0, annealEnd: 8 }),
      bits: 2,
    });
    train(model, optimizer, 12);
    const bytes = await exportQuantized(model, undefined, { bits: 2 });
    const viaOptimizer = await exportQuantized(model, optimizer);
    const loaded = await loadQuantized(bytes);
    expect(weightBits(loaded)).toEqual(weightBits(model));
    expect(predictBits(loaded)).toEqual(predictBits(model));
    // same sizes: the recovered levels are the optimizer's four
    expect(bytes.length).toBeLessThanOrEqual(viaOptimizer.length + 8);
    loaded.dispose();
    model.dispose();
    optimizer.dispose();
  });

  it.runIf(backend === 'cpu')('ADMM-Q, finalized: levels from the ADMMQOptimizer', async () => {
    const model = tinyMlp(7);
    const optimizer = new ADMMQOptimizer({
      base: tf.train.momentum(0.05, 0.9),
      bits: 2,
      granularity: { kind: 'channel' },
      totalSteps: 12,
    });
    train(model, optimizer, 12);
    const bytes = await exportQuantized(model, optimizer);
    const loaded = await loadQuantized(bytes);
    expect(weightBits(loaded)).toEqual(weightBits(model));
    expect(predictBits(loaded)).toEqual(predictBits(model));
    loaded.dispose();
    model.dispose();
    optimizer.dispose();
  });

  it.runIf(backend === 'cpu')(
    'float16 float tensors: quantized weights exact, biases within float16 rounding',
    async () => {
      const model = tinyMlp(5);
      const optimizer = new QuantOptimizer({ base: tf.train.momentum(0.05, 0.9), bits: 1 });
      train(model, optimizer, 12);
      const f32 = await exportQuantized(model, optimizer);
      const f16 = await exportQuantized(model, optimizer, { floatDtype: 'float16' });
      const floats = async (b: Uint8Array) =>
        (await parsePacked(b)).sections.find((s) => s.tag === 'FLTS')!.length;
      expect(await floats(f32)).toBe(4 * (32 + 10));
      expect(await floats(f16)).toBe(2 * (32 + 10));
      const loaded = await loadQuantized(f16);
      const a = weightBits(model);
      const b = weightBits(loaded);
      expect(b['fc1/kernel']).toEqual(a['fc1/kernel']);
      expect(b['logits/kernel']).toEqual(a['logits/kernel']);
      const bias = model.weights
        .find((w) => w.originalName === 'fc1/bias')!
        .read()
        .dataSync();
      const bias16 = loaded.weights
        .find((w) => w.originalName === 'fc1/bias')!
        .read()
        .dataSync();
      bias.forEach((v, i) =>
        expect(Math.abs(bias16[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25),
      );
      loaded.dispose();
      model.dispose();
      optimizer.dispose();
    },
  );
});

describe('file layout', () => {
  it('stores exactly ceil(n * bits / 8) index bytes a tensor and float32 levels', async () => {
    await tf.setBackend('cpu');
    const model = tinyMlp(6);
    const optimizer = new QuantOptimizer({
      base: tf.train.sgd(0.05),
      quantizer: new UnifQuantizer(),
      bits: 4,
      granularity: { kind: 'channel' },
    });
    train(model, optimizer, 2);
    const bytes = await exportQuantized(model, optimizer);
    const file = await parsePacked(bytes);
    const size = (tag: string) => file.sections.find((s) => s.tag === tag)!.length;
    expect(size('IDXS')).toBe(Math.ceil((784 * 32 * 4) / 8) + Math.ceil((32 * 10 * 4) / 8));
    expect(size('LVLS')).toBe(4 * (32 * 16 + 10 * 16));
    expect(size('FLTS')).toBe(4 * (32 + 10));
    expect(file.header.tensors.map((t) => t.name)).toEqual([
      'fc1/kernel',
      'fc1/bias',
      'logits/kernel',
      'logits/bias',
    ]);
    model.dispose();
    optimizer.dispose();
  });
});
