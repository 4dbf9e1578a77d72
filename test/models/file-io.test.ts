/// <reference types="node" />
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildModel,
  fileLoadHandler,
  fileSaveHandler,
  loadModelFromFile,
  MODEL_LOSS,
  resolveModel,
  saveModelToDir,
} from '../../src/models/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'parq-models-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const namedWeights = (m: tf.LayersModel) =>
  Object.fromEntries(m.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));

async function expectSameModel(a: tf.LayersModel, b: tf.LayersModel, inputShape: number[]) {
  expect(b.layers.map((l) => l.name)).toEqual(a.layers.map((l) => l.name));
  expect(namedWeights(b)).toEqual(namedWeights(a));
  const x = tf.randomUniform([3, ...inputShape], 0, 1, 'float32', 11);
  const pa = a.predict(x) as tf.Tensor;
  const pb = b.predict(x) as tf.Tensor;
  expect(Array.from(pb.dataSync())).toEqual(Array.from(pa.dataSync()));
  tf.dispose([x, pa, pb]);
}

describe('file IO handlers', () => {
  const cases: Array<[string, number[]]> = [
    ['mlp', [28, 28, 1]],
    ['lenet5', [28, 28, 1]],
    ['resnet20', [32, 32, 3]],
  ];
  for (const [name, inputShape] of cases) {
    it(`${name}: save → load gives identical weights and predictions`, async () => {
      const model = buildModel(name, { inputShape, numClasses: 10, seed: 4 });
      const result = await model.save(fileSaveHandler(dir));
      expect(result.modelArtifactsInfo.weightDataBytes).toBeGreaterThan(0);
      expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
      const loaded = await tf.loadLayersModel(fileLoadHandler(join(dir, 'model.json')));
      await expectSameModel(model, loaded, inputShape);
      model.dispose();
      loaded.dispose();
    });
  }

  it('keeps trained BatchNorm statistics, training config and metadata', async () => {
    const model = buildModel('resnet20', { inputShape: [8, 8, 3], numClasses: 3, seed: 1 });
    model.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: MODEL_LOSS, metrics: ['acc'] });
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 2);
    const y = tf.tensor1d([0, 1, 2, 0]);
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const before = namedWeights(model)['stem_bn/moving_mean'];
    expect(before.some((v) => v !== 0)).toBe(true);
    await saveModelToDir(model, dir, { includeOptimizer: true });
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.trainingConfig.loss).toBe('sparse_categorical_crossentropy');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const groups = json.weightsManifest[0].weights.map((w: { group?: string }) => w.group);
    expect(groups).toContain('optimizer');
    const loaded = await loadModelFromFile(dir);
    await expectSameModel(model, loaded, [8, 8, 3]);
    expect(loaded.optimizer).toBeDefined();
    const slots = async (m: tf.LayersModel) =>
      (await m.optimizer.getWeights()).map((w) => Array.from(w.tensor.dataSync()));
    expect(await slots(loaded)).toEqual(await slots(model));
    tf.dispose([x, y]);
    model.dispose();
    loaded.dispose();
  });

  it('overwrites an earlier save and leaves no temporary files', async () => {
    const a = buildModel('mlp', { inputShape: [6], numClasses: 2, hidden: [4], seed: 1 });
    const b = buildModel('mlp', { inputShape: [6], numClasses: 2, hidden: [4], seed: 2 });
    await saveModelToDir(a, join(dir, 'ckpt'));
    await saveModelToDir(b, join(dir, 'ckpt'));
    expect(readdirSync(join(dir, 'ckpt')).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await loadModelFromFile(`file://${join(dir, 'ckpt', 'model.json')}`);
    expect(namedWeights(loaded)).toEqual(namedWeights(b));
    [a, b, loaded].forEach((m) => m.dispose());
  });

  it('reads a manifest with several groups and files', async () => {
    const model = buildModel('mlp', { inputShape: [3], numClasses: 2, hidden: [2], seed: 5 });
    await saveModelToDir(model, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const bin = readFileSync(join(dir, 'weights.bin'));
    // split the weights over two groups and three files, as the tfjs converter shards them
    const specs = json.weightsManifest[0].weights;
    const cut = (3 * 2 + 2) * 4; // fc1 kernel + bias
    writeFileSync(join(dir, 'a.bin'), bin.subarray(0, 10));
    writeFileSync(join(dir, 'b.bin'), bin.subarray(10, cut));
    writeFileSync(join(dir, 'c.bin'), bin.subarray(cut));
    json.weightsManifest = [
      { paths: ['a.bin', 'b.bin'], weights: specs.slice(0, 2) },
      { paths: ['c.bin'], weights: specs.slice(2) },
    ];
    writeFileSync(join(dir, 'sharded.json'), JSON.stringify(json));
    const loaded = await loadModelFromFile(join(dir, 'sharded.json'));
    expect(namedWeights(loaded)).toEqual(namedWeights(model));
    model.dispose();
    loaded.dispose();
  });

  it('names a missing model.json, a missing weights file and truncated weights', async () => {
    await expect(loadModelFromFile(join(dir, 'none.json'))).rejects.toThrow(
      /none\.json: missing file/,
    );
    const model = buildModel('mlp', { inputShape: [3], numClasses: 2, hidden: [2] });
    await saveModelToDir(model, dir);
    truncateSync(join(dir, 'weights.bin'), 20);
    await expect(loadModelFromFile(dir)).rejects.toThrow(
      /model\.json: its weight files hold 20 bytes, the manifest describes 56/,
    );
    rmSync(join(dir, 'weights.bin'));
    await expect(loadModelFromFile(dir)).rejects.toThrow(/weights\.bin: missing file/);
    writeFileSync(join(dir, 'model.json'), '{"format":"layers-model"}');
    await expect(loadModelFromFile(dir)).rejects.toThrow(/not a tfjs model\.json/);
    model.dispose();
  });
});

describe('resolveModel', () => {
  it('builds a named model or loads a saved one', async () => {
    const opts = { inputShape: [3], numClasses: 2, hidden: [2], seed: 9 };
    const built = await resolveModel('mlp', opts);
    await saveModelToDir(built, join(dir, 'm'));
    const loaded = await resolveModel(join(dir, 'm'), opts);
    expect(namedWeights(loaded)).toEqual(namedWeights(built));
    await expect(resolveModel('vgg', opts)).rejects.toThrow(
      /unknown model 'vgg' \(expected one of mlp, lenet5, resnet20, vit-tiny, or an existing model\.json/,
    );
    built.dispose();
    loaded.dispose();
  });
});
