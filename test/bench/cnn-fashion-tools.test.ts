/// <reference types="node" />
// bench/same-start.mjs (parq-ts's start for the reference) and `bench/cnn-fashion.mjs table`.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchOrder } from '../../src/data/batches.js';
import { loadDataset } from '../../src/data/index.js';
import { modelForConfig, resolveTrainConfig } from '../../src/train/index.js';
import { removeDir, tempDir, writeIdxSet } from '../data/fixtures.js';

const root = join(__dirname, '..', '..');
let dir: string;
beforeAll(() => {
  dir = tempDir('parq-cnn-tools-');
  writeIdxSet(join(dir, 'fashion'), { nTrain: 40, nTest: 10, rows: 28, cols: 28 });
});
afterAll(() => removeDir(dir));

describe('bench/same-start.mjs', () => {
  it("writes the model's initial weights and each epoch's batch order, as parq train draws them", () => {
    const out = join(dir, 'start');
    const spec = `fashion-mnist:${join(dir, 'fashion')}`;
    const printed = execFileSync(
      process.execPath,
      [
        'bench/same-start.mjs',
        ...['--model', 'lenet5', '--method', 'ste', '--bits', '1', '--seed', '3'],
        ...['--epochs', '2', '--data', spec, '--out', out, '--no-train', '--backend', 'cpu'],
      ],
      { cwd: root, encoding: 'utf8' },
    );
    const start = JSON.parse(readFileSync(join(out, 'start.json'), 'utf8'));
    expect(start.config.seed).toBe(3);
    expect(start.trainSamples).toBe(40);
    const flat = new Float32Array(new Uint8Array(readFileSync(join(out, 'weights.f32'))).buffer);
    const config = resolveTrainConfig(start.config);
    const model = modelForConfig(config, loadDataset(spec));
    expect(start.weights.map((w: { name: string }) => w.name)).toEqual(
      model.weights.map((w) => w.originalName),
    );
    for (const [i, w] of model.weights.entries()) {
      const want = w.read().dataSync();
      const got = flat.subarray(start.weights[i].offset, start.weights[i].offset + want.length);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
    expect(flat.length).toBe(61706);
    const order = new Int32Array(new Uint8Array(readFileSync(join(out, 'order.i32'))).buffer);
    expect(order.length).toBe(80);
    for (const e of [0, 1]) {
      const want = batchOrder(40, 128, 3, e).flatMap((b) => Array.from(b));
      expect(Array.from(order.subarray(e * 40, (e + 1) * 40))).toEqual(want);
    }
    expect(batchOrder(40, 128, 3, 0)).not.toEqual(batchOrder(40, 128, 3, 1));
    const loss = Number(/first-batch loss at the start (\S+)/.exec(printed)?.[1]);
    expect(loss).toBeGreaterThan(1.5);
    expect(loss).toBeLessThan(3.5);
    model.dispose();
    tf.disposeVariables();
  }, 60_000);
});

describe('bench/cnn-fashion.mjs table', () => {
  it('pairs the two sides by cell, gives 2 standard errors, and leaves same-start runs out', () => {
    const row = (side: string, accuracy: number, extra: object = {}) =>
      JSON.stringify({
        side,
        model: 'lenet5',
        method: 'ste',
        bits: 1,
        seed: 0,
        epochs: 2,
        trainSamples: 60000,
        accuracy,
        maxDistinct: 2,
        ...extra,
      });
    const ts = join(dir, 'ts.jsonl');
    const ref = join(dir, 'ref.jsonl');
    writeFileSync(ts, [row('parq-ts', 80), row('parq-ts', 82)].join('\n') + '\n');
    writeFileSync(
      ref,
      [row('reference', 81), row('reference', 83), row('reference', 10, { sameStart: '/x' })].join(
        '\n',
      ) + '\n',
    );
    const json = join(dir, 'table.json');
    const out = execFileSync(
      process.execPath,
      ['bench/cnn-fashion.mjs', 'table', '--ts', ts, '--ref', ref, '--json', json],
      { cwd: root, encoding: 'utf8' },
    );
    // means 81 and 82, population sd 1; sample variances 2: 2 * sqrt(2/2 + 2/2) = 2.83
    expect(out).toContain('| lenet5 | ste | 1 | 2 | 81.00 ± 1.00 | 82.00 ± 1.00 | -1.00 | 2.83 |');
    expect(out).toContain('| 2 / 2 |');
    const saved = JSON.parse(readFileSync(json, 'utf8'));
    expect(saved.reference).toHaveLength(2);
  }, 30_000);
});
