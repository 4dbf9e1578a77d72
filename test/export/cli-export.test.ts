/// <reference types="node" />
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadQuantized, describePacked } from '../../src/export/index.js';
import { readQuantizedFile } from '../../src/export/files.js';
import { loadModelFromFile, saveModelToDir } from '../../src/models/index.js';
import { QuantOptimizer } from '../../src/optim/index.js';
import { captureCheckpoint } from '../../src/train/checkpoint.js';
import { writeCheckpoint } from '../../src/train/checkpoint-files.js';
import { DEFAULT_TRAIN_CONFIG } from '../../src/train/config.js';
import { TernaryUnifQuantizer } from '../../src/quant/index.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'parq-cli-export-'));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** A small model trained to ternary per-channel weights, and its optimizer. */
function trained(): { model: tf.Sequential; optimizer: QuantOptimizer } {
  const model = tf.sequential({
    name: 'm',
    layers: [
      tf.layers.dense({ name: 'fc1', units: 12, inputShape: [10], activation: 'relu' }),
      tf.layers.dense({ name: 'logits', units: 3 }),
    ],
  });
  const optimizer = new QuantOptimizer({
    base: tf.train.sgd(0.1),
    quantizer: new TernaryUnifQuantizer(),
    bits: 0,
    granularity: { kind: 'channel' },
  });
  const x = tf.randomNormal([16, 10], 0, 1, 'float32', 1);
  const y = tf.randomNormal([16, 3], 0, 1, 'float32', 2);
  for (let s = 0; s < 3; s++) {
    optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor));
  }
  tf.dispose([x, y]);
  return { model, optimizer };
}

const values = (m: tf.LayersModel) => m.weights.map((w) => Array.from(w.read().dataSync()));

describe('parq export', () => {
  it('packs a tfjs model folder given --bits and granularity flags', async () => {
    const { model } = trained();
    await saveModelToDir(model, join(dir, 'model'));
    const out = join(dir, 'm.parq');
    const argv = ['export', join(dir, 'model'), '--out', out, '--bits', 'ternary', '--per-channel'];
    expect(await main(argv)).toBe(0);
    const loaded = await loadQuantized(out);
    expect(values(loaded)).toEqual(values(model));
    const info = await describePacked(await readQuantizedFile(out));
    expect(info.tensors[0]).toMatchObject({
      name: 'fc1/kernel',
      bits: 0,
      packing: 'trits',
      groups: 12,
    });
    expect(info.metadata).toEqual({ source: 'model file', levelsFrom: 'distinct values' });
  });

  it('packs a checkpoint, with bits and granularity from its config, and --float16', async () => {
    const { model, optimizer } = trained();
    const config = {
      ...DEFAULT_TRAIN_CONFIG,
      method: 'ste' as const,
      quantizer: 'unif' as const,
      bits: 0,
      granularity: { kind: 'channel' as const },
    };
    const data = await captureCheckpoint(model, optimizer, {
      config,
      epoch: 1,
      step: 3,
      dataOrder: { seed: 0, nextEpoch: 1 },
      metrics: { final: { testLoss: 1, testAccuracy: 0.5 } } as any,
    });
    await writeCheckpoint(join(dir, 'run'), data);
    const out = join(dir, 'c.parq');
    expect(await main(['export', join(dir, 'run'), '--out', out, '--float16'])).toBe(0);
    const info = await describePacked(await readQuantizedFile(out));
    expect(info.metadata).toMatchObject({
      source: 'checkpoint',
      epoch: 1,
      step: 3,
      testAccuracy: 0.5,
    });
    expect(info.tensors.map((t) => t.encoding)).toEqual(['levels', 'float16', 'levels', 'float16']);
    await expect(
      main(['export', join(dir, 'run'), '--out', out, '--bits', '2', '--overwrite']),
    ).rejects.toThrow(/the run trained at ternary; --bits 2 contradicts it/);
  });

  it('writes the tfjs format that the standard loader reads', async () => {
    const { model } = trained();
    await saveModelToDir(model, join(dir, 'model'));
    const out = join(dir, 'tfjs');
    expect(
      await main([
        'export',
        join(dir, 'model'),
        '--out',
        out,
        '--bits',
        '0',
        '--per-channel',
        '--format',
        'tfjs',
      ]),
    ).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await loadModelFromFile(out);
    expect(values(loaded)).toEqual(values(model)); // per-channel levels: stored as float32, exact
  });

  it('parq train -> parq export -> parq eval and parq info on the packed file', async () => {
    const run = join(dir, 'run');
    const train = [
      'train',
      '--out',
      run,
      '--hidden',
      '16',
      '--epochs',
      '2',
      '--limit-train',
      '640',
    ];
    const flags = [
      '--limit-test',
      '200',
      '--method',
      'ste',
      '--bits',
      '2',
      '--backend',
      'cpu',
      '-q',
    ];
    expect(await main([...train, ...flags])).toBe(0);
    const out = join(dir, 'run.parq');
    expect(await main(['export', run, '--out', out, '-q'])).toBe(0);
    const chunks: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      chunks.push(String(s));
      return true;
    });
    const json = async (argv: string[]) => {
      chunks.length = 0;
      expect(await main(argv)).toBe(0);
      return JSON.parse(chunks.join(''));
    };
    const fromCheckpoint = await json(['eval', run, '--backend', 'cpu', '--json']);
    const fromPacked = await json(['eval', out, '--backend', 'cpu', '--json']);
    write.mockRestore();
    // the run's own test subset, read from the config stored in the file: same accuracy and loss
    expect(fromPacked.samples).toBe(200);
    expect(fromPacked.accuracy).toBe(fromCheckpoint.accuracy);
    expect(fromPacked.loss).toBe(fromCheckpoint.loss);
    chunks.length = 0;
    const write2 = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      chunks.push(String(s));
      return true;
    });
    expect(await main(['info', out])).toBe(0);
    write2.mockRestore();
    const text = chunks.join('');
    expect(text).toMatch(/^packed file .*run\.parq \([\d,]+ bytes, format 1\.0\)/);
    expect(text).toContain('fc1/kernel [784, 16]: 2 bits (2-bit indices), 1 group of 4 levels');
  });

  it('fails with a one-line error and writes nothing, leaving an old file intact', async () => {
    const float = tf.sequential({
      layers: [tf.layers.dense({ name: 'fc1', units: 4, inputShape: [3] })],
    });
    await saveModelToDir(float, join(dir, 'float'));
    const out = join(dir, 'out.parq');
    writeFileSync(out, 'old');
    // even with --overwrite, a failed export leaves the old file as it was
    const replace = ['--out', out, '--overwrite'];
    await expect(main(['export', join(dir, 'float'), ...replace, '--bits', '2'])).rejects.toThrow(
      "export: tensor 'fc1/kernel' has more than 4 distinct values, more than 2 bits allows",
    );
    await expect(main(['export', join(dir, 'float'), ...replace])).rejects.toThrow(/pass --bits/);
    await expect(main(['export', join(dir, 'nothing'), ...replace, '--bits', '2'])).rejects.toThrow(
      /nothing: no such file or folder/,
    );
    expect(readFileSync(out, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['float', 'out.parq']);
    expect(existsSync(join(dir, 'tfjs'))).toBe(false);
  });
});
