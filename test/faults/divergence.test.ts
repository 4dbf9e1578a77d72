/// <reference types="node" />
// Divergent training: a loss or weight that stops being finite ends the run with exit 1, a
// line naming the epoch and step, metrics.json marked "diverged", and the last checkpoint
// (always finite) kept. Non-finite data is refused before training.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCsv } from '../../src/data/csv.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { trainRun } from '../../src/train/run.js';
import { disposeOptimizer } from '../../src/train/build.js';
import { parq, readJson, tinyCsvFixture } from '../cli/helpers.js';
import { listing, verifiedCheckpoint } from './helpers.js';

const f = tinyCsvFixture('parq-faults-diverge-');
beforeAll(async () => {
  f.setup();
  await tf.setBackend('cpu');
});
afterAll(() => f.cleanup());

describe('a diverging run', () => {
  it('--lr 1e6: exit 1, epoch and step named, metrics.json "diverged", the last finite checkpoint kept', () => {
    const out = join(f.dir, 'lr');
    const r = parq(['train', ...f.tiny(), '--lr', '1e6', '--epochs', '6', '--out', out]);
    expect(r.code, r.stderr).toBe(1);
    const line = r.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    const m = readJson(join(out, 'metrics.json'));
    expect(m.status).toBe('diverged');
    const { epoch, step, cause } = m.diverged;
    expect(cause).toBe('loss');
    expect(line).toContain(`the training loss is not finite at epoch ${epoch}, step ${step}`);
    expect(m.epochsDone).toBe(epoch - 1);
    const state = verifiedCheckpoint(out);
    if (epoch === 1) {
      expect(line).toContain('no epoch completed');
      expect(listing(out)).toEqual(['metrics.json', 'report.html']);
    } else {
      expect(line).toContain(`the checkpoint of epoch ${epoch - 1} is kept in ${out}`);
      expect(state?.epoch).toBe(epoch - 1);
      const w = new Float32Array(
        readFileSync(join(out, 'checkpoint', 'weights.bin')).buffer.slice(0),
      );
      expect(w.every(Number.isFinite)).toBe(true);
    }
  });

  it('diverging after epoch 2 stops in epoch 3 at the step it happened, epoch 2 stays the last record', async () => {
    const config = resolveTrainConfig({
      data: `csv:${f.csv}`,
      hidden: [16],
      batchSize: 16,
      lr: 0.1,
      epochs: 5,
      method: 'fp',
    });
    const dataset = loadCsv(f.csv);
    let checkpoints = 0;
    const { metrics, model, optimizer } = await trainRun(config, {
      dataset,
      callbacks: {
        onEpochEnd: async (record, ctx) => {
          await ctx.checkpoint(); // finite: does not throw
          checkpoints++;
          // Poison a weight after epoch 2's checkpoint: the next step's loss is NaN.
          if (record.epoch === 2) {
            const w = ctx.model.trainableWeights[0].read() as tf.Variable;
            w.assign(tf.fill(w.shape, NaN));
          }
        },
      },
    });
    const steps = metrics.stepsPerEpoch;
    expect(metrics.status).toBe('diverged');
    expect(metrics.diverged).toEqual({ epoch: 3, step: 2 * steps + 1, cause: 'loss' });
    expect(metrics.epochsDone).toBe(2);
    expect(metrics.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(checkpoints).toBe(2);
    disposeOptimizer(optimizer);
    model.dispose();
  });

  it('a checkpoint of non-finite weights is refused, so none is ever written', async () => {
    const config = resolveTrainConfig({
      data: `csv:${f.csv}`,
      hidden: [16],
      batchSize: 16,
      epochs: 1,
      method: 'fp',
    });
    let err: unknown;
    const { model, optimizer } = await trainRun(config, {
      dataset: loadCsv(f.csv),
      callbacks: {
        onEpochEnd: async (_r, ctx) => {
          const w = ctx.model.trainableWeights[1].read() as tf.Variable;
          w.assign(tf.fill(w.shape, Infinity));
          err = await ctx.checkpoint().then(
            () => null,
            (e) => e,
          );
        },
      },
    });
    expect(String(err)).toMatch(/checkpoint: model tensor '.*' is not finite/);
    disposeOptimizer(optimizer);
    model.dispose();
  });
});

describe('non-finite data', () => {
  it.each(['1e39', '1e999', '-3.5e38'])(
    'a CSV cell %s is refused naming line and column',
    (cell) => {
      const csv = join(f.dir, `big${cell}.csv`);
      writeFileSync(csv, `a,b,label\n1,2,0\n3,${cell},1\n4,5,0\n6,7,1\n8,9,0\n`);
      const r = parq([
        'train',
        '--data',
        `csv:${csv}`,
        '--hidden',
        '4',
        '--epochs',
        '1',
        '--quiet',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`line 3, column 'b': ${cell} is beyond the float32 range`);
    },
  );
});
