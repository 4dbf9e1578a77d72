/// <reference types="node" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportTfjs, uniformGrid } from '../../src/export/index.js';
import { fileSaveHandler, loadModelFromFile } from '../../src/models/index.js';
import { QuantOptimizer } from '../../src/optim/index.js';
import {
  LSBQuantizer,
  TernaryUnifQuantizer,
  UnifQuantizer,
  type Granularity,
  type Quantizer,
} from '../../src/quant/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function trained(
  quantizer: Quantizer,
  bits: number,
  granularity: Granularity = { kind: 'tensor' },
) {
  const model = tf.sequential({
    name: 'm',
    layers: [
      tf.layers.dense({
        name: 'd1',
        units: 24,
        inputShape: [20],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        name: 'd2',
        units: 4,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  const optimizer = new QuantOptimizer({
    base: tf.train.momentum(0.05, 0.9),
    quantizer,
    bits,
    granularity,
  });
  const x = tf.randomNormal([32, 20], 0, 1, 'float32', 3);
  const y = tf.randomNormal([32, 4], 0, 1, 'float32', 4);
  for (let s = 0; s < 6; s++)
    optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor));
  tf.dispose([x, y]);
  return { model, optimizer };
}

const values = (m: tf.LayersModel) =>
  Object.fromEntries(m.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));

/** Largest |a - b| per tensor. */
function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(
    Object.keys(a).map((k) => [k, Math.max(...a[k].map((v, i) => Math.abs(v - b[k][i])))]),
  );
}

describe('exportTfjs', () => {
  it.each([
    ['uniform 2 bits', new UnifQuantizer(), 2],
    ['uniform 4 bits', new UnifQuantizer(), 4],
    ['uniform ternary', new TernaryUnifQuantizer(), 0],
    ['LSBQ 1 bit', new LSBQuantizer(), 1],
  ] as const)(
    '%s: kernels as tfjs uint8 weights, decoded by tfjs within the reported error',
    async (_label, quantizer, bits) => {
      const { model, optimizer } = trained(quantizer, bits);
      const { artifacts, tensors } = await exportTfjs(model, optimizer);
      const specs = artifacts.weightSpecs!;
      expect(specs.map((s) => s.quantization?.dtype ?? 'float32')).toEqual([
        'uint8',
        'float32',
        'uint8',
        'float32',
      ]);
      expect(tensors.map((t) => t.encoding)).toEqual(['uint8', 'float32', 'uint8', 'float32']);
      expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(
        20 * 24 + 4 * 24 + 24 * 4 + 4 * 4,
      );
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
      const diff = maxDiff(values(model), values(loaded));
      for (const t of tensors) {
        expect(diff[t.name]).toBe(t.maxAbsError);
        // within float rounding of the levels
        const scale = Math.max(...values(model)[t.name].map(Math.abs));
        expect(t.maxAbsError).toBeLessThanOrEqual(scale * 2 ** -22);
      }
      expect(diff['d1/bias']).toBe(0);
      loaded.dispose();
    },
  );

  it('non-uniform levels (LSBQ 2 bits) and per-channel levels stay float32, exact', async () => {
    for (const [quantizer, granularity] of [
      [new LSBQuantizer(), { kind: 'tensor' }],
      [new UnifQuantizer(), { kind: 'channel' }],
    ] as const) {
      const { model, optimizer } = trained(quantizer, 2, granularity);
      const { artifacts, tensors } = await exportTfjs(model, optimizer);
      expect(tensors[0]).toMatchObject({ name: 'd1/kernel', encoding: 'float32', maxAbsError: 0 });
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
      expect(values(loaded)).toEqual(values(model));
      loaded.dispose();
    }
  });

  it('floatDtype float16 stores the float tensors as tfjs float16', async () => {
    const { model, optimizer } = trained(new LSBQuantizer(), 2);
    const { artifacts, tensors } = await exportTfjs(model, optimizer, { floatDtype: 'float16' });
    expect(artifacts.weightSpecs!.map((s) => s.quantization?.dtype)).toEqual([
      'float16',
      'float16',
      'float16',
      'float16',
    ]);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const diff = maxDiff(values(model), values(loaded));
    for (const t of tensors) expect(diff[t.name]).toBe(t.maxAbsError);
    loaded.dispose();
  });

  it('saves as model.json + weights.bin that the standard file loader reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parq-tfjs-'));
    try {
      const { model, optimizer } = trained(new UnifQuantizer(), 2);
      const { artifacts, tensors } = await exportTfjs(model, optimizer);
      await fileSaveHandler(dir).save!(artifacts);
      const loaded = await loadModelFromFile(dir);
      const diff = maxDiff(values(model), values(loaded));
      expect(diff['d1/kernel']).toBe(tensors[0].maxAbsError);
      const x = tf.randomNormal([5, 20], 0, 1, 'float32', 9);
      const a = (model.predict(x) as tf.Tensor).dataSync();
      const b = (loaded.predict(x) as tf.Tensor).dataSync();
      a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('uniformGrid', () => {
  it('finds the grid of evenly spaced values, gaps allowed', () => {
    expect(uniformGrid(Float64Array.of(-0.3, -0.1, 0.1, 0.3), 1e-3)).toMatchObject({
      min: -0.3,
      steps: [0, 1, 2, 3],
    });
    expect(uniformGrid(Float64Array.of(-1, 0, 2), 1e-3)).toMatchObject({
      scale: 1,
      min: -1,
      steps: [0, 1, 3],
    });
    expect(uniformGrid(Float64Array.of(5), 1e-3)).toEqual({ scale: 1, min: 5, steps: [0] });
  });

  it('refuses uneven values and grids wider than 256 points', () => {
    expect(uniformGrid(Float64Array.of(-1, -0.3, 0.3, 1), 1e-3)).toBeNull();
    expect(uniformGrid(Float64Array.of(0, 1, 256), 1e-3)).toBeNull();
    expect(uniformGrid(Float64Array.of(0, 1, 255), 1e-3)).not.toBeNull();
  });
});
