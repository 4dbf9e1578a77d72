/// <reference types="node" />
// The vision transformer: its layout, seeded init, serialization through every file path
// (tfjs files, packed export), and its gradients against finite differences.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { loadDataset, loadMnist, type Dataset } from '../../src/data/index.js';
import { exportQuantized, loadQuantized } from '../../src/export/index.js';
import {
  buildModel,
  loadModelFromFile,
  MultiHeadAttention,
  saveModelToDir,
  vit,
} from '../../src/models/index.js';
import { groupView, type Granularity } from '../../src/quant/grouping.js';
import { disposeOptimizer, resolveTrainConfig, trainRun } from '../../src/train/index.js';
import { removeDir, tempDir } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';

// parq-ts's wasm backend, as `parq train` uses it (its faster transposed BatchMatMul).
beforeAll(() => selectBackend('wasm'));

let dir: string;
beforeAll(() => {
  dir = tempDir('parq-vit-');
});
afterAll(() => removeDir(dir));

const FASHION = '/usr/share/datasets/fashion-mnist';
/** Fashion-MNIST when installed (CI installs it), else the built-in MNIST: both 28x28x1. */
const data = (): Dataset =>
  existsSync(join(FASHION, 'train-images-idx3-ubyte.gz'))
    ? loadDataset('fashion-mnist')
    : loadMnist();

const tiny = () =>
  vit({
    inputShape: [4, 4, 1],
    numClasses: 3,
    patchSize: 2,
    width: 8,
    depth: 1,
    heads: 2,
    mlpRatio: 2,
    seed: 3,
  });

async function predictions(model: tf.LayersModel, x: tf.Tensor): Promise<Float32Array> {
  const y = model.predict(x) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  y.dispose();
  return out;
}

describe('vit-tiny', () => {
  it('has the documented layout: 17 tokens of 64, 4 blocks, 139,018 parameters, named layers', () => {
    const m = buildModel('vit-tiny', { inputShape: [28, 28, 1], numClasses: 10 });
    expect(m.countParams()).toBe(139018);
    const shapes = Object.fromEntries(m.weights.map((w) => [w.originalName, w.shape]));
    expect(shapes['patch_embed/kernel']).toEqual([49, 64]);
    expect(shapes['cls_token/token']).toEqual([1, 1, 64]);
    expect(shapes['pos_embed/embedding']).toEqual([17, 64]);
    for (const p of ['q', 'k', 'v', 'out'])
      expect(shapes[`block3_attn_${p}/kernel`]).toEqual([64, 64]);
    expect(shapes['block0_mlp_fc1/kernel']).toEqual([64, 128]);
    expect(shapes['block0_mlp_fc2/kernel']).toEqual([128, 64]);
    expect(shapes['block2_norm2/gamma']).toEqual([64]);
    expect(shapes['norm/beta']).toEqual([64]);
    expect(shapes['logits/kernel']).toEqual([64, 10]);
    expect(m.layers.filter((l) => l instanceof MultiHeadAttention)).toHaveLength(4);
    expect(shapes['block4_attn_q/kernel']).toBeUndefined();
    m.dispose();
  });

  it('is seeded: the same seed gives the same weights, another seed others', async () => {
    const opts = { inputShape: [28, 28, 1], numClasses: 10 };
    const values = async (seed: number) => {
      const m = buildModel('vit-tiny', { ...opts, seed });
      const out = await Promise.all(m.weights.map(async (w) => Array.from(await w.read().data())));
      m.dispose();
      return out;
    };
    const [a, b, c] = [await values(5), await values(5), await values(6)];
    expect(a).toEqual(b);
    const names = ['patch_embed/kernel', 'cls_token/token', 'pos_embed/embedding'];
    const m = buildModel('vit-tiny', opts);
    for (const name of names) {
      const i = m.weights.findIndex((w) => w.originalName === name);
      expect(a[i]).not.toEqual(c[i]);
      expect(new Set(a[i]).size).toBeGreaterThan(10);
    }
    m.dispose();
  });

  it('refuses shapes it cannot build, naming the problem', () => {
    const base = { inputShape: [28, 28, 1], numClasses: 10 };
    expect(() => vit({ ...base, patchSize: 5 })).toThrow(/patch size 5 does not divide the 28x28/);
    expect(() => vit({ ...base, width: 30, heads: 4 })).toThrow(/width 30 is not a multiple of 4/);
    expect(() => vit({ ...base, inputShape: [784] })).toThrow(/rank-3 input shape/);
  });

  it('saves and loads as a tfjs model (custom layers registered): identical predictions', async () => {
    const m = tiny();
    const x = tf.randomUniform([5, 4, 4, 1], 0, 1, 'float32', 1);
    await saveModelToDir(m, join(dir, 'tfjs'));
    const back = await loadModelFromFile(join(dir, 'tfjs'));
    expect(back.layers.map((l) => l.getClassName())).toContain('ParqMultiHeadAttention');
    expect(await predictions(back, x)).toEqual(await predictions(m, x));
    tf.dispose([m, back, x] as unknown as tf.Tensor[]);
  });

  it('has gradients that match central finite differences, for every kind of weight', async () => {
    await useBackend('cpu');
    try {
      const m = tiny();
      const x = tf.randomUniform([3, 4, 4, 1], 0, 1, 'float32', 7);
      const logitsLayer = m.getLayer('logits');
      const net = tf.model({ inputs: m.inputs, outputs: logitsLayer.output as tf.SymbolicTensor });
      const probe = tf.randomNormal([3, 3], 0, 1, 'float32', 11);
      // A fixed linear functional of the logits: its gradient is O(1), easy to difference.
      const f = () => tf.sum(tf.mul(net.predict(x) as tf.Tensor, probe)) as tf.Scalar;
      const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(f, vars);
      const checked = [
        'patch_embed/kernel',
        'cls_token/token',
        'pos_embed/embedding',
        'block0_norm1/gamma',
        'block0_attn_q/kernel',
        'block0_attn_k/kernel',
        'block0_attn_v/bias',
        'block0_attn_out/kernel',
        'block0_mlp_fc1/kernel',
        'block0_mlp_fc2/kernel',
        'norm/beta',
      ];
      const eps = 1e-3;
      let worst = 0;
      let largest = 0;
      for (const name of checked) {
        const w = net.trainableWeights.find((t) => t.originalName === name);
        expect(w, name).toBeDefined();
        const v = w!.read() as tf.Variable;
        const g = (await grads[v.name].data()) as Float32Array;
        const base = (await v.data()) as Float32Array;
        for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
          const at = (delta: number) => {
            const moved = base.slice();
            moved[i] += delta;
            v.assign(tf.tensor(moved, v.shape));
            const s = f();
            const out = s.dataSync()[0];
            s.dispose();
            return out;
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          v.assign(tf.tensor(base, v.shape));
          const err = Math.abs(numeric - g[i]) / Math.max(1, Math.abs(g[i]));
          worst = Math.max(worst, err);
          largest = Math.max(largest, Math.abs(g[i]));
          expect(err, `${name}[${i}]: numeric ${numeric}, autodiff ${g[i]}`).toBeLessThan(5e-3);
        }
      }
      // the gradients checked are not trivially zero
      expect(largest).toBeGreaterThan(0.01);
      tf.dispose(Object.values(grads));
      tf.dispose([x, probe]);
      m.dispose();
      expect(worst).toBeLessThan(5e-3);
    } finally {
      await selectBackend('wasm');
    }
  });
});

describe('vit-tiny QAT (2 bits)', () => {
  // vit-tiny's patch embedding has 49 weights a channel (7x7x1): no block size divides it
  // together with the 64 of the projections: blocks are tested on a ViT with 4x4 patches.
  const patch4 = () =>
    vit({ inputShape: [28, 28, 1], numClasses: 10, patchSize: 4, width: 32, depth: 1, heads: 2 });
  const cases: Array<[string, Granularity, (() => tf.LayersModel) | undefined, number]> = [
    ['vit-tiny, per tensor', { kind: 'tensor' }, undefined, 26],
    ['vit-tiny, per channel', { kind: 'channel' }, undefined, 26],
    ['patch 4, blocks of 16', { kind: 'block', blockSize: 16 }, patch4, 8],
  ];
  for (const [label, granularity, build, kernelCount] of cases) {
    it(`ends every Dense/Conv kernel on at most 4 values per group (${label}); the packed file loads and predicts identically`, async () => {
      const config = resolveTrainConfig({
        data: 'fashion-mnist',
        model: 'vit-tiny',
        method: 'parq',
        bits: 2,
        granularity,
        epochs: 2,
        batchSize: 32,
        optimizer: 'adam',
        lr: 0.002,
        limitTrain: 256,
        limitTest: 64,
        evalEvery: 0,
      });
      const { model, optimizer, metrics } = await trainRun(config, {
        dataset: data(),
        model: build?.(),
      });
      const kernels = model.weights.filter((w) => /\/kernel$/.test(w.originalName));
      // patch embedding, depth x (q, k, v, out, fc1, fc2), logits
      expect(kernels).toHaveLength(kernelCount);
      expect(metrics.quantized.map((q) => q.name).sort()).toEqual(
        kernels.map((k) => k.originalName).sort(),
      );
      for (const k of kernels) {
        const values = (await k.read().data()) as Float32Array;
        const [a, mm, c] = groupView(k.shape as number[], granularity).view;
        for (let ai = 0; ai < a; ai++) {
          for (let ci = 0; ci < c; ci++) {
            const seen = new Set<number>();
            for (let mi = 0; mi < mm; mi++) seen.add(values[(ai * mm + mi) * c + ci]);
            expect(seen.size, `${k.originalName} group ${ai * c + ci}`).toBeLessThanOrEqual(4);
          }
        }
      }
      // biases, LayerNorm, class token and position embedding stay float
      for (const name of [
        'cls_token/token',
        'pos_embed/embedding',
        'block0_norm1/gamma',
        'block0_attn_q/bias',
      ]) {
        const w = model.weights.find((t) => t.originalName === name)!;
        expect(new Set(await w.read().data()).size, name).toBeGreaterThan(4);
      }
      expect(metrics.final?.testAccuracy).toBeGreaterThan(0.2);

      const bytes = await exportQuantized(model, optimizer as never);
      const loaded = await loadQuantized(bytes);
      const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 2);
      expect(await predictions(loaded, x)).toEqual(await predictions(model, x));
      x.dispose();
      loaded.dispose();
      disposeOptimizer(optimizer);
      model.dispose();
    }, 120_000);
  }
});
