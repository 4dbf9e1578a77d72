/// <reference types="node" />
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError, loadCifar10 } from '../../src/data/index.js';
import { cifarBatch, cifarValue, removeDir, tempDir, writeCifarSet } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => removeDir(dir));

function loadError(from = dir): DataError {
  try {
    loadCifar10(from);
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).not.toContain('\n');
    return err as DataError;
  }
  throw new Error('loadCifar10 did not throw');
}

describe('cifar10 loader', () => {
  it('reads the six batches and converts planes to NHWC / 255', () => {
    writeCifarSet(dir, 2, 3);
    const data = loadCifar10(dir);
    expect(data.inputShape).toEqual([32, 32, 3]);
    expect(data.numClasses).toBe(10);
    expect(data.train.n).toBe(10);
    expect(data.test.n).toBe(3);
    expect(data.train.x.length).toBe(10 * 3072);
    // batches 1..5 in order: record i of the train split has label i % 10
    expect(Array.from(data.train.y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(data.test.y)).toEqual([0, 1, 2]);
    for (const [i, h, w, c] of [
      [0, 0, 0, 0],
      [7, 3, 31, 2],
      [9, 31, 0, 1],
    ]) {
      const got = data.train.x[i * 3072 + (h * 32 + w) * 3 + c];
      expect(got).toBeCloseTo(cifarValue(i, h, w, c) / 255, 7);
    }
  });

  it('finds the batches inside cifar-10-batches-bin', () => {
    writeCifarSet(join(dir, 'cifar-10-batches-bin'), 1, 1);
    expect(loadCifar10(dir).train.n).toBe(5);
  });

  it('names a missing batch file', () => {
    writeCifarSet(dir);
    rmSync(join(dir, 'data_batch_4.bin'));
    expect(loadError().message).toMatch(/data_batch_4\.bin: missing file/);
  });

  it('names a missing directory', () => {
    expect(loadError(join(dir, 'nope')).message).toMatch(/nope.data_batch_1\.bin: missing file/);
  });

  it('names a truncated batch (not a whole number of records)', () => {
    writeCifarSet(dir);
    writeFileSync(join(dir, 'test_batch.bin'), cifarBatch(2).subarray(0, 3073 + 100));
    expect(loadError().message).toMatch(
      /test_batch\.bin: truncated: 3173 bytes is 1 whole 3073-byte records plus 100 bytes/,
    );
  });

  it('names an empty batch and a bad label', () => {
    writeCifarSet(dir);
    writeFileSync(join(dir, 'data_batch_2.bin'), new Uint8Array(0));
    expect(loadError().message).toMatch(/data_batch_2\.bin: empty file/);
    writeCifarSet(dir);
    const bad = cifarBatch(2);
    bad[3073] = 12;
    writeFileSync(join(dir, 'data_batch_3.bin'), bad);
    expect(loadError().message).toMatch(
      /data_batch_3\.bin: record 1 has label 12 \(expected 0\.\.9\)/,
    );
  });

  it('reports the directory it was given in the name', () => {
    mkdirSync(dir, { recursive: true });
    writeCifarSet(dir, 1, 1);
    expect(loadCifar10(dir).name).toBe(`cifar10:${dir}`);
  });
});
