import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  exportQuantized,
  importCheckpoint,
  importedExportOptions,
  loadQuantized,
  parseSafetensors,
} from '../../src/index.js';
import { describePacked } from '../../src/export/index.js';
import { useBackend } from '../helpers.js';
import { f32Safetensors } from './safetensors-bytes.js';

beforeAll(() => useBackend('cpu'));

// Made by bench/reference/make_import_fixtures.py: the PyTorch reference trained each a few PARQ
// steps; NAME-io holds inputs (NHWC for images) and PyTorch's softmax on them.
const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/import/${name}.safetensors`, import.meta.url)));

function io(name: string): { x: Float32Array; xShape: number[]; probs: Float32Array } {
  const f = parseSafetensors(fixture(`${name}-io`));
  return { x: f.float32('x'), xShape: f.entry('x')!.shape, probs: f.float32('probs') };
}

function maxDiff(model: tf.LayersModel, name: string): number {
  const { x, xShape, probs } = io(name);
  const p = tf.tidy(() => model.predict(tf.tensor(x, xShape)) as tf.Tensor);
  const got = p.dataSync();
  p.dispose();
  expect(got.length).toBe(probs.length);
  let d = 0;
  for (let i = 0; i < got.length; i++) d = Math.max(d, Math.abs(got[i] - probs[i]));
  return d;
}

describe('importCheckpoint: PyTorch PARQ checkpoints give PyTorch predictions', () => {
  it('MLP 784-32-10, 2 bits per tensor: equal predictions, kernels recognized and packed', async () => {
    const imp = importCheckpoint(fixture('mlp-parq2'), { model: 'mlp' });
    expect(imp.layout).toBe('pytorch');
    expect(imp.inputShape).toEqual([784]);
    expect(imp.model.getLayer('fc1').getWeights()[0].shape).toEqual([784, 32]);
    expect(imp.quantized).toEqual({
      'fc1/kernel': {
        bits: 2,
        granularity: { kind: 'tensor' },
        levels: 4,
        source: 'distinct values',
      },
      'logits/kernel': {
        bits: 2,
        granularity: { kind: 'tensor' },
        levels: 4,
        source: 'distinct values',
      },
    });
    expect(maxDiff(imp.model, 'mlp-parq2')).toBeLessThanOrEqual(1e-5);
    const packed = await exportQuantized(imp.model, undefined, importedExportOptions(imp));
    const loaded = await loadQuantized(packed);
    expect(maxDiff(loaded, 'mlp-parq2')).toBeLessThanOrEqual(1e-5);
    expect(packed.length).toBeLessThan((784 * 32 + 32 * 10) / 2);
    loaded.dispose();
    imp.model.dispose();
  });

  it('LeNet-5, 2 bits per channel, float16 storage: fc1 rows reordered from NCHW flatten', () => {
    const imp = importCheckpoint(fixture('lenet5-parq2'), { model: 'lenet5' });
    expect(imp.inputShape).toEqual([28, 28, 1]);
    expect(Object.keys(imp.quantized)).toEqual([
      'conv1/kernel',
      'conv2/kernel',
      'fc1/kernel',
      'fc2/kernel',
      'logits/kernel',
    ]);
    for (const q of Object.values(imp.quantized))
      expect([q.bits, q.granularity.kind]).toEqual([2, 'channel']);
    expect(maxDiff(imp.model, 'lenet5-parq2')).toBeLessThanOrEqual(1e-5);
    imp.model.dispose();
  });

  it('ResNet-20, 2 bits per channel, batch norm statistics: equal predictions', async () => {
    const imp = importCheckpoint(fixture('resnet20-parq2'), { model: 'resnet20' });
    expect(imp.inputShape).toEqual([32, 32, 3]);
    expect(imp.ignored.length).toBe(21); // every BatchNorm's num_batches_tracked
    const kernels = imp.model.weights.filter((w) => w.originalName.endsWith('/kernel'));
    expect(Object.keys(imp.quantized).sort()).toEqual(kernels.map((w) => w.originalName).sort());
    for (const q of Object.values(imp.quantized)) {
      expect(q.bits).toBe(2);
      expect(q.bits === 2 && q.levels <= 4).toBe(true);
    }
    expect(maxDiff(imp.model, 'resnet20-parq2')).toBeLessThanOrEqual(1e-5);
    const packed = await exportQuantized(imp.model, undefined, importedExportOptions(imp));
    const loaded = await loadQuantized(packed);
    expect(maxDiff(loaded, 'resnet20-parq2')).toBeLessThanOrEqual(1e-5);
    loaded.dispose();
    imp.model.dispose();
  });

  it('ViT (width 32, depth 2, 2 heads): the name map, equal predictions, 2-bit kernels packed with their levels', async () => {
    // bench/reference/make_vit_import_fixture.py: cnn_fashion.py's ViT, PARQ 2 bits per channel
    const imp = importCheckpoint(fixture('vit-parq2'), { model: 'vit-tiny', heads: 2 });
    expect(imp.inputShape).toEqual([28, 28, 1]);
    expect(imp.numClasses).toBe(10);
    const m = imp.model;
    expect(m.getLayer('patch_embed').getWeights()[0].shape).toEqual([49, 32]);
    expect(m.getLayer('pos_embed').getWeights()[0].shape).toEqual([17, 32]);
    expect(m.getLayer('block1_mlp_fc1').getWeights()[0].shape).toEqual([32, 64]);
    expect(m.layers.filter((l) => l.name.endsWith('_norm1')).length).toBe(2);
    expect(imp.used.slice(0, 8)).toEqual([
      'patch_embed.weight',
      'patch_embed.bias',
      'cls_token',
      'pos_embed',
      'blocks.0.norm1.weight',
      'blocks.0.norm1.bias',
      'blocks.0.attn_q.weight',
      'blocks.0.attn_q.bias',
    ]);
    expect(imp.used.slice(-4)).toEqual([
      'norm.weight',
      'norm.bias',
      'logits.weight',
      'logits.bias',
    ]);
    expect(imp.used.length).toBe(4 + 2 * 16 + 4);
    // every Dense kernel (patch embedding, q/k/v/out, MLP, logits) and nothing else
    const kernels = m.weights.map((w) => w.originalName).filter((n) => n.endsWith('/kernel'));
    expect(kernels.length).toBe(1 + 2 * 6 + 1);
    expect(Object.keys(imp.quantized).sort()).toEqual([...kernels].sort());
    for (const q of Object.values(imp.quantized)) {
      expect([q.bits, q.granularity.kind, q.levels <= 4]).toEqual([2, 'channel', true]);
    }
    expect(maxDiff(m, 'vit-parq2')).toBeLessThanOrEqual(1e-5);

    const packed = await exportQuantized(m, undefined, importedExportOptions(imp));
    const info = await describePacked(packed);
    const levels = info.tensors.filter((t) => t.encoding === 'levels');
    expect(levels.map((t) => t.name).sort()).toEqual([...kernels].sort());
    for (const t of levels) expect([t.bits, t.levels! <= 4]).toEqual([2, true]);
    const loaded = await loadQuantized(packed);
    expect(maxDiff(loaded, 'vit-parq2')).toBeLessThanOrEqual(1e-5);
    loaded.dispose();
    m.dispose();
  });

  it('ViT: the heads are not in the tensors; the wrong count gives other predictions', () => {
    const imp = importCheckpoint(fixture('vit-parq2'), { model: 'vit-tiny' }); // default 4
    expect(maxDiff(imp.model, 'vit-parq2')).toBeGreaterThan(1e-3);
    imp.model.dispose();
  });

  it('torchao layout: IntxUnpackedToInt8Tensor (Stretched 2 bits, blocks of 16) and Int4Tensor', async () => {
    const imp = importCheckpoint(fixture('mlp-torchao'), { model: 'mlp' });
    expect(imp.layout).toBe('torchao');
    expect(imp.quantized).toEqual({
      'fc1/kernel': {
        bits: 2,
        granularity: { kind: 'block', blockSize: 16 },
        levels: 4,
        source: 'IntxUnpackedToInt8Tensor',
      },
      'logits/kernel': {
        bits: 4,
        granularity: { kind: 'block', blockSize: 32 },
        levels: 16,
        source: 'Int4Tensor',
      },
    });
    expect(maxDiff(imp.model, 'mlp-torchao')).toBeLessThanOrEqual(1e-5);
    const loaded = await loadQuantized(
      await exportQuantized(imp.model, undefined, importedExportOptions(imp)),
    );
    expect(maxDiff(loaded, 'mlp-torchao')).toBeLessThanOrEqual(1e-5);
    loaded.dispose();
    imp.model.dispose();
  });
});

describe('importCheckpoint: mismatched checkpoints get one-line errors naming the tensor', () => {
  const mlpTensors = () => {
    const f = parseSafetensors(fixture('mlp-parq2'));
    return Object.fromEntries(
      f.entries.map((e) => [e.name, { shape: e.shape, values: Array.from(f.float32(e.name)) }]),
    );
  };
  const error = (tensors: Record<string, { shape: number[]; values: number[] }>, opts = {}) => {
    try {
      importCheckpoint(f32Safetensors(tensors), { model: 'mlp', ...opts }).model.dispose();
    } catch (e) {
      const m = (e as Error).message;
      expect(m).not.toContain('\n');
      return m;
    }
    throw new Error('expected the import to fail');
  };

  it('a missing tensor', () => {
    const t = mlpTensors();
    delete t['logits.bias'];
    expect(error(t)).toBe('import: the checkpoint lacks 1 tensor a mlp needs: logits.bias');
  });
  it('an extra tensor', () => {
    const t = { ...mlpTensors(), 'fc9.scale': { shape: [1], values: [1] } };
    expect(error(t)).toBe('import: the checkpoint has 1 tensor a mlp does not: fc9.scale');
  });
  it('a mis-shaped tensor', () => {
    const t = mlpTensors();
    t['logits.bias'] = { shape: [2, 5], values: t['logits.bias'].values };
    expect(error(t)).toBe(
      "import: tensor 'logits.bias' has shape [2, 5], the mlp's 'logits/bias' needs [10]",
    );
  });
  it('hidden sizes that contradict the checkpoint, an unknown model', () => {
    expect(error(mlpTensors(), { hidden: [64] })).toBe(
      "import: --hidden 64 does not match the checkpoint's hidden layers [32]",
    );
    expect(error(mlpTensors(), { model: 'vgg' })).toBe(
      "import: unknown model 'vgg' (expected one of mlp, lenet5, resnet20, vit-tiny)",
    );
    expect(error(mlpTensors(), { model: 'resnet20' })).toBe(
      "import: no tensor 'stem_conv.weight' in the checkpoint, which a resnet20 needs",
    );
  });

  describe('the ViT', () => {
    const vitTensors = () => {
      const f = parseSafetensors(fixture('vit-parq2'));
      return Object.fromEntries(
        f.entries.map((e) => [e.name, { shape: e.shape, values: Array.from(f.float32(e.name)) }]),
      );
    };
    const vitError = (t: ReturnType<typeof vitTensors>, opts = {}) =>
      error(t, { model: 'vit-tiny', heads: 2, ...opts });

    it('a missing block tensor, a missing class token', () => {
      const t = vitTensors();
      delete t['blocks.1.attn_k.weight'];
      expect(vitError(t)).toBe(
        'import: the checkpoint lacks 1 tensor a vit-tiny needs: blocks.1.attn_k.weight',
      );
      const u = vitTensors();
      delete u['cls_token'];
      expect(vitError(u)).toBe(
        "import: no tensor 'cls_token' in the checkpoint, which a vit-tiny needs",
      );
    });
    it('a mis-shaped projection or position embedding', () => {
      const t = vitTensors();
      t['blocks.0.attn_v.weight'] = { shape: [16, 64], values: t['blocks.0.attn_v.weight'].values };
      expect(vitError(t)).toBe(
        "import: tensor 'blocks.0.attn_v.weight' has shape [16, 64], the vit-tiny's 'block0_attn_v/kernel' needs [32, 32]",
      );
      const u = vitTensors();
      u['pos_embed'] = { shape: [17, 32], values: u['pos_embed'].values };
      expect(vitError(u)).toBe(
        "import: tensor 'pos_embed' has shape [17, 32], expected [1, patches + 1, width]",
      );
    });
    it('an extra tensor, a timm-style fused qkv', () => {
      const t = vitTensors();
      t['blocks.0.attn.qkv.weight'] = { shape: [1], values: [0] };
      expect(vitError(t)).toBe(
        'import: the checkpoint has 1 tensor a vit-tiny does not: blocks.0.attn.qkv.weight',
      );
    });
    it('heads that do not divide the width, --heads for another model, an input that does not fit', () => {
      expect(vitError(vitTensors(), { heads: 3 })).toBe(
        'import: vit: width 32 is not a multiple of 3 heads',
      );
      expect(error(mlpTensors(), { heads: 2 })).toBe('import: --heads is for vit-tiny, not mlp');
      expect(vitError(vitTensors(), { inputShape: [28, 28, 3] })).toBe(
        "import: 'patch_embed.weight' takes 49 inputs, not p * p * 3 for any patch side p",
      );
      expect(vitError(vitTensors(), { inputShape: [14, 14, 1] })).toBe(
        "import: tensor 'pos_embed' has shape [1, 17, 32], the vit-tiny's 'pos_embed/embedding' needs [1, 5, 32]",
      );
    });
  });
});
