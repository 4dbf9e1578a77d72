/// <reference types="node" />
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, loadDataset } from '../../src/data/index.js';
import { removeDir, tempDir, writeCifarSet, writeIdxSet } from './fixtures.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
  writeIdxSet(join(dir, 'idx'), { gzip: true });
  writeCifarSet(join(dir, 'cifar'), 1, 1);
  writeFileSync(join(dir, 't.csv'), 'x,y\n1,0\n2,1\n3,0\n4,1\n5,0\n');
});
afterAll(() => removeDir(dir));

describe('loadDataset', () => {
  it('dispatches on the spec', () => {
    expect(loadDataset('mnist').train.n).toBe(8004);
    expect(loadDataset(`idx:${join(dir, 'idx')}`).inputShape).toEqual([4, 3, 1]);
    expect(loadDataset(`cifar10:${join(dir, 'cifar')}`).inputShape).toEqual([32, 32, 3]);
    const csv = loadDataset(`csv:${join(dir, 't.csv')}`, { labelColumn: 'y', testFrac: 0.4 });
    expect([csv.train.n, csv.test.n]).toEqual([3, 2]);
  });

  it('rejects unknown or incomplete specs with a DataError', () => {
    expect(() => loadDataset('imagenet')).toThrow(DataError);
    expect(() => loadDataset('imagenet')).toThrow(
      /unknown dataset 'imagenet' \(expected one of mnist, fashion-mnist\[:DIR\], idx:DIR/,
    );
    expect(() => loadDataset('idx:')).toThrow(/dataset 'idx:': expected idx:DIR/);
    expect(() => loadDataset('csv')).toThrow(/expected csv:FILE/);
    expect(() => loadDataset('mnist:x')).toThrow(/mnist takes no argument/);
  });
});
