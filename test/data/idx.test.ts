/// <reference types="node" />
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError, loadIdx } from '../../src/data/index.js';
import { idxImages, idxLabels, pixelAt, removeDir, tempDir, writeIdxSet } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => removeDir(dir));

const TRAIN_IMAGES = 'train-images-idx3-ubyte';
const TRAIN_LABELS = 'train-labels-idx1-ubyte';

function loadError(): DataError {
  try {
    loadIdx(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).not.toContain('\n');
    return err as DataError;
  }
  throw new Error('loadIdx did not throw');
}

describe('idx loader', () => {
  for (const gzip of [false, true]) {
    it(`reads ${gzip ? 'gzipped' : 'raw'} IDX files, pixels / 255`, () => {
      writeIdxSet(dir, { nTrain: 12, nTest: 5, rows: 4, cols: 3, gzip });
      const data = loadIdx(dir);
      expect(data.name).toBe(`idx:${dir}`);
      expect(data.inputShape).toEqual([4, 3, 1]);
      expect(data.train.n).toBe(12);
      expect(data.test.n).toBe(5);
      expect(data.numClasses).toBe(10);
      expect(Array.from(data.train.y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
      // image 7, row 2, col 1
      expect(data.train.x[7 * 12 + 2 * 3 + 1]).toBeCloseTo(pixelAt(7, 2, 1) / 255, 7);
      expect(data.test.x[4 * 12 + 3 * 3 + 2]).toBeCloseTo(pixelAt(4, 3, 2) / 255, 7);
    });
  }

  it('names a missing file', () => {
    writeIdxSet(dir);
    rmSync(join(dir, TRAIN_LABELS));
    expect(loadError().message).toMatch(/train-labels-idx1-ubyte: missing file/);
  });

  it('names a bad magic number', () => {
    writeIdxSet(dir);
    // a labels file where the images should be
    writeFileSync(join(dir, TRAIN_IMAGES), idxLabels([1, 2, 3]));
    expect(loadError().message).toMatch(
      /train-images-idx3-ubyte: bad magic number 0x00000801 \(expected 0x00000803/,
    );
  });

  it('names a truncated images file', () => {
    writeIdxSet(dir, { nTrain: 12, rows: 4, cols: 3 });
    const full = readFileSync(join(dir, TRAIN_IMAGES));
    writeFileSync(join(dir, TRAIN_IMAGES), full.subarray(0, full.length - 5));
    expect(loadError().message).toMatch(
      /train-images-idx3-ubyte: truncated: header says 12 images of 4x3 \(160 bytes\) but the file has 155/,
    );
  });

  it('names a truncated gzipped labels file', () => {
    writeIdxSet(dir, { gzip: true, nTest: 5 });
    writeFileSync(
      join(dir, 't10k-labels-idx1-ubyte.gz'),
      gzipSync(idxLabels([1, 2]).subarray(0, 9)),
    );
    expect(loadError().message).toMatch(
      /t10k-labels-idx1-ubyte\.gz: truncated: header says 2 labels/,
    );
  });

  it('names a file too short for its header', () => {
    writeIdxSet(dir);
    writeFileSync(join(dir, TRAIN_IMAGES), Uint8Array.from([0, 0, 8, 3, 0, 0]));
    expect(loadError().message).toMatch(/train-images-idx3-ubyte: truncated header/);
  });

  it('names a corrupt gzip stream', () => {
    writeIdxSet(dir, { gzip: true });
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), Uint8Array.from([31, 139, 8, 0, 1, 2]));
    expect(loadError().message).toMatch(/train-images-idx3-ubyte\.gz: not a valid gzip file/);
  });

  it('names image and label counts that differ', () => {
    writeIdxSet(dir, { nTrain: 12 });
    writeFileSync(join(dir, TRAIN_LABELS), idxLabels([0, 1, 2]));
    expect(loadError().message).toMatch(
      /train-labels-idx1-ubyte: 3 labels but the matching images file has 12 images/,
    );
  });

  it('names train and test images of different sizes', () => {
    writeIdxSet(dir, { rows: 4, cols: 3 });
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxImages(new Uint8Array(5 * 4), 5, 2, 2));
    expect(loadError().message).toMatch(/t10k-images-idx3-ubyte: images are 2x2 but .* has 4x3/);
  });

  it('names trailing bytes', () => {
    writeIdxSet(dir);
    const full = readFileSync(join(dir, TRAIN_LABELS));
    writeFileSync(join(dir, TRAIN_LABELS), Buffer.concat([full, Buffer.from([1, 2])]));
    expect(loadError().message).toMatch(
      /train-labels-idx1-ubyte: 2 unexpected bytes after 12 labels/,
    );
  });
});
