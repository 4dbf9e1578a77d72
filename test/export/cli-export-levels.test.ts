/// <reference types="node" />
/**
 * `parq export RUN` takes the levels from the run's QAT optimizer, restored from the
 * checkpoint's state, not from the weights' distinct values (the path a model file takes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadQuantized, parsePacked } from '../../src/export/index.js';
import { readQuantizedFile } from '../../src/export/files.js';
import { saveModelToDir } from '../../src/models/index.js';
import { QuantOptimizer, type QatInspection } from '../../src/optim/index.js';
import { TernaryUnifQuantizer } from '../../src/quant/index.js';
import { disposeOptimizer } from '../../src/train/build.js';
import { captureCheckpoint } from '../../src/train/checkpoint.js';
import { readCheckpoint, writeCheckpoint } from '../../src/train/checkpoint-files.js';
import { checkpointQatOptimizer } from '../../src/train/checkpoint-optimizer.js';
import { DEFAULT_TRAIN_CONFIG } from '../../src/train/config.js';

let dir: string;
let logged: string[];
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'parq-export-levels-'));
  logged = [];
  vi.spyOn(console, 'log').mockImplementation((s: unknown) => void logged.push(String(s)));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** Each quantized tensor of a packed file: its name, levels a group, and the level rows. */
async function packedLevels(path: string): Promise<Map<string, { k: number; rows: number[][] }>> {
  const bytes = await readQuantizedFile(path);
  const file = await parsePacked(bytes);
  const lvls = file.sections.find((s) => s.tag === 'LVLS');
  if (!lvls) throw new Error('no LVLS section');
  const view = new DataView(bytes.buffer, bytes.byteOffset + lvls.offset, lvls.length);
  const out = new Map<string, { k: number; rows: number[][] }>();
  let at = 0;
  for (const t of file.header.tensors) {
    if (t.encoding !== 'levels') continue;
    const rows: number[][] = [];
    for (let g = 0; g < t.view[0] * t.view[2]; g++) {
      const row: number[] = [];
      for (let j = 0; j < t.levels; j++, at += 4) row.push(view.getFloat32(at, true));
      rows.push(row);
    }
    out.set(t.name, { k: t.levels, rows });
  }
  return out;
}

const sortedRows = (rows: number[][]) => rows.map((r) => [...r].sort((a, b) => a - b));

/** The level rows of every quantized entry of `optimizer`, by the model's weight names. */
function optimizerLevels(model: tf.LayersModel, optimizer: QatInspection) {
  const out = new Map<string, number[][]>();
  for (const w of model.weights) {
    const entry = optimizer.quantizedEntries.find((e) => e.variable === w.read());
    if (!entry) continue;
    const rows = optimizer.getLevels(entry.name) as tf.Tensor2D;
    out.set(w.originalName, sortedRows(rows.arraySync()));
    rows.dispose();
  }
  return out;
}

describe('parq export from a checkpoint: levels from the optimizer state', () => {
  it('packs the optimizer levels where distinct values would find fewer', async () => {
    const model = tf.sequential({
      name: 'm',
      layers: [
        tf.layers.dense({ name: 'fc1', units: 12, inputShape: [10], activation: 'relu' }),
        tf.layers.dense({ name: 'logits', units: 3 }),
      ],
    });
    const optimizer = new QuantOptimizer({
      base: tf.train.momentum(0.1, 0.9),
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
    // Every fc1 weight on its channel's lowest level: still on the levels, but one value a group.
    const fc1 = model.getLayer('fc1').getWeights()[0];
    const entry = optimizer.quantizedEntries[0];
    const rows = optimizer.getLevels(entry.name) as tf.Tensor2D;
    const low = tf.min(rows, 1);
    model
      .getLayer('fc1')
      .setWeights([tf.mul(tf.onesLike(fc1), low), model.getLayer('fc1').getWeights()[1]]);
    tf.dispose([rows, low]);
    const want = optimizerLevels(model, optimizer);
    expect(want.get('fc1/kernel')?.[0]).toHaveLength(3);

    const config = {
      ...DEFAULT_TRAIN_CONFIG,
      method: 'ste' as const,
      quantizer: 'unif' as const,
      bits: 0,
      granularity: { kind: 'channel' as const },
      epochs: 1,
    };
    const data = await captureCheckpoint(model, optimizer, {
      config,
      epoch: 1,
      step: 3,
      dataOrder: { seed: 0, nextEpoch: 1 },
      metrics: { stepsPerEpoch: 3, totalSteps: 3 } as any,
    });
    await writeCheckpoint(join(dir, 'run'), data);

    const out = join(dir, 'run.parq');
    expect(await main(['export', join(dir, 'run'), '--out', out])).toBe(0);
    expect(logged[0]).toBe(
      "levels: from the checkpoint's optimizer state (QuantOptimizer, 2 quantized tensors)",
    );
    const packed = await packedLevels(out);
    expect(packed.get('fc1/kernel')?.k).toBe(3);
    expect(sortedRows(packed.get('fc1/kernel')?.rows ?? [])).toEqual(want.get('fc1/kernel'));
    expect(sortedRows(packed.get('logits/kernel')?.rows ?? [])).toEqual(want.get('logits/kernel'));
    const loaded = await loadQuantized(out);
    expect(loaded.weights.map((w) => Array.from(w.read().dataSync()))).toEqual(
      model.weights.map((w) => Array.from(w.read().dataSync())),
    );
    loaded.dispose();

    // The same weights as a model file: levels recovered from distinct values, one a group.
    await saveModelToDir(model, join(dir, 'model'));
    const fromFile = join(dir, 'file.parq');
    logged.length = 0;
    const argv = ['export', join(dir, 'model'), '--out', fromFile, '--bits', '0', '--per-channel'];
    expect(await main(argv)).toBe(0);
    expect(logged[0]).toMatch(/^levels: recovered from each group's distinct values/);
    expect((await packedLevels(fromFile)).get('fc1/kernel')?.k).toBe(1);
    model.dispose();
    optimizer.dispose();
  });

  it('parq train (ADMM-Q) -> parq export: the file holds the restored optimizer getLevels', async () => {
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
    const more = [
      '--limit-test',
      '100',
      '--method',
      'admmq',
      '--per-channel',
      '--backend',
      'cpu',
      '-q',
    ];
    expect(await main([...train, ...more])).toBe(0);
    const out = join(dir, 'run.parq');
    expect(await main(['export', run, '--out', out])).toBe(0);
    expect(logged.join('\n')).toContain(
      "levels: from the checkpoint's optimizer state (ADMMQOptimizer, 2 quantized tensors)",
    );
    const ckpt = await readCheckpoint(run);
    const optimizer = await checkpointQatOptimizer(ckpt.model, ckpt.state, ckpt.optimizerData);
    if (!optimizer) throw new Error('no optimizer');
    const want = optimizerLevels(ckpt.model, optimizer);
    expect(want.size).toBe(2);
    const packed = await packedLevels(out);
    expect([...packed.keys()]).toEqual([...want.keys()]);
    for (const [name, rows] of want) expect(sortedRows(packed.get(name)?.rows ?? [])).toEqual(rows);
    disposeOptimizer(optimizer);
    ckpt.model.dispose();
  });
});
