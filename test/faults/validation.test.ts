/// <reference types="node" />
// The one validation layer for what used to pass silently: class counts, duplicate CSV
// columns, a resume on other data, a report range below float resolution, models that cannot
// be built or trained, a --model folder missing its weights.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCsv } from '../../src/data/csv.js';
import type { Dataset } from '../../src/data/types.js';
import { mlp } from '../../src/models/mlp.js';
import { niceTicks } from '../../src/report/svg.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { checkDataset, resolveClasses } from '../../src/train/data.js';
import { trainRun } from '../../src/train/run.js';
import { parq, tinyCsvFixture, writeCsv } from '../cli/helpers.js';

const f = tinyCsvFixture('parq-faults-valid-');
beforeAll(async () => {
  f.setup();
  await tf.setBackend('cpu');
});
afterAll(() => f.cleanup());

function table(labels: number[]): Dataset {
  const split = (ys: number[]) => ({
    x: new Float32Array(ys.length * 2),
    y: Int32Array.from(ys),
    n: ys.length,
  });
  const max = Math.max(...labels);
  return {
    name: 't',
    train: split(labels),
    test: split(labels.slice(0, 2)),
    inputShape: [2],
    numClasses: max + 1,
  };
}

describe('classes', () => {
  it('a stray label (200 among 0..2) is refused, naming it; --num-classes allows gaps', () => {
    const d = table([0, 1, 2, 0, 1, 200]);
    expect(() => resolveClasses(d)).toThrow(
      /labels go up to 200 \(train sample 5\) but classes 3, 4, 5, 6, \.\.\. never occur/,
    );
    expect(() => resolveClasses(d, 10)).toThrow(
      /label 200 \(train sample 5\) is out of range for --num-classes 10/,
    );
    expect(resolveClasses(d, 201).numClasses).toBe(201);
    expect(resolveClasses(table([0, 1, 2, 1])).numClasses).toBe(3);
  });

  it('labels that are all one class are refused (a 100% that means nothing)', () => {
    const d = resolveClasses(table([2, 2, 2, 2]), 3);
    expect(() => checkDataset(d)).toThrow(/needs at least 2 classes, the labels hold only class 2/);
  });

  it('parq train on a CSV with a stray label exits 2 naming it', () => {
    const csv = join(f.dir, 'stray.csv');
    writeFileSync(
      csv,
      `a,label\n${[0, 1, 2, 0, 1, 2, 200, 1, 0, 2].map((y, i) => `${i},${y}`).join('\n')}\n`,
    );
    const r = parq(['train', '--data', `csv:${csv}`, '--hidden', '4', '--epochs', '1', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/labels go up to 200 .* is label 200 out of range\?/);
  });
});

describe('CSV headers', () => {
  it.each([
    ['label,x,label', /column name 'label' appears twice \(columns 1 and 3\)/],
    ['a,a,label', /column name 'a' appears twice \(columns 1 and 2\)/],
  ])('%s is refused', (header, message) => {
    const csv = join(f.dir, `dup-${header.replace(/,/g, '_')}.csv`);
    writeFileSync(csv, `${header}\n1,2,0\n3,4,1\n`);
    expect(() => loadCsv(csv)).toThrow(message);
  });
});

describe('resume', () => {
  it('on data that changed since the checkpoint is refused, from any folder', () => {
    const csv = join(f.dir, 'moving.csv');
    writeCsv(csv);
    const out = join(f.dir, 'moving-run');
    const r = parq([
      'train',
      ...f.tiny(),
      '--data',
      `csv:${csv}`,
      '--epochs',
      '2',
      '--stop-after',
      '1',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    // Same sizes, one value changed: only the fingerprint can tell.
    writeFileSync(csv, readFileSync(csv, 'utf8').replace(/\n0\./, '\n1.'));
    const again = parq(['train', '--resume', out, '--quiet']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /resume: the data differ from the checkpoint's .*crc32 [0-9a-f]{8}, now .*crc32 [0-9a-f]{8}/,
    );
  });
});

describe('the report and the models', () => {
  it('niceTicks on a range below float resolution returns its ends (it used to loop until V8 died)', () => {
    expect(niceTicks(0.05, 0.05 + 1e-17)).toEqual([0.05, 0.05 + 1e-17]);
    expect(niceTicks(1e9, 1e9 + 1e-7)).toEqual([1e9, 1e9 + 1e-7]);
    expect(niceTicks(0, 1, 5)).toHaveLength(6);
  });

  it('an MLP too big to allocate is refused by size, not by a typed-array crash', () => {
    expect(() => mlp({ inputShape: [784], numClasses: 10, hidden: [100_000_000] })).toThrow(
      /7\.95e\+10 parameters, more than the 268,435,456/,
    );
  });

  it('a model with no trainable weights is refused before training', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [6], trainable: false })],
    });
    const config = resolveTrainConfig({
      data: `csv:${f.csv}`,
      method: 'fp',
      model: 'file.json',
      epochs: 1,
    });
    await expect(trainRun(config, { dataset: loadCsv(f.csv), model })).rejects.toThrow(
      /the model has no trainable weights/,
    );
    model.dispose();
  });

  it('--model whose weights.bin is missing names the missing file', async () => {
    const dir = join(f.dir, 'model');
    mkdirSync(dir);
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [6] })] });
    const { saveModelToDir } = await import('../../src/models/load.js');
    await saveModelToDir(m, dir);
    m.dispose();
    rmSync(join(dir, 'weights.bin'));
    const r = parq(['train', '--data', `csv:${f.csv}`, '--model', dir, '--epochs', '1', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--model .*model: .*weights\.bin is missing \(.*model\.json lists it/);
  });
});
