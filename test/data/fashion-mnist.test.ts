/// <reference types="node" />
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataError,
  FASHION_MNIST_DEBIAN_DIR,
  FASHION_MNIST_ENV,
  findFashionMnist,
  loadDataset,
  loadFashionMnist,
} from '../../src/data/index.js';
import { pixelAt, removeDir, tempDir, writeIdxSet } from './fixtures.js';

let dir: string;
const small = () => join(dir, 'fashion');

beforeAll(() => {
  dir = tempDir('parq-fashion-');
  writeIdxSet(small(), { nTrain: 30, nTest: 10, rows: 28, cols: 28, gzip: true });
  writeIdxSet(join(dir, 'wrong-size'), { rows: 4, cols: 3 });
});
afterAll(() => removeDir(dir));

describe('fashion-mnist', () => {
  it('loads a folder given as fashion-mnist:DIR: 28x28x1, 10 classes, pixels / 255', () => {
    const d = loadDataset(`fashion-mnist:${small()}`);
    expect(d.name).toBe('fashion-mnist');
    expect([d.train.n, d.test.n]).toEqual([30, 10]);
    expect(d.inputShape).toEqual([28, 28, 1]);
    expect(d.numClasses).toBe(10);
    expect(d.train.x[28 * 28 * 3 + 28 * 2 + 5]).toBeCloseTo(pixelAt(3, 2, 5) / 255, 6);
    expect(Array.from(d.test.y.subarray(0, 4))).toEqual([0, 1, 2, 3]);
  });

  it('looks in the folder given, then $PARQ_FASHION_MNIST, then the Debian folder', () => {
    const env = { [FASHION_MNIST_ENV]: small() };
    expect(findFashionMnist(undefined, env)).toBe(small());
    expect(findFashionMnist(small(), { [FASHION_MNIST_ENV]: '/nowhere' })).toBe(small());
    expect(loadFashionMnist(undefined, env).train.n).toBe(30);
    expect(() => findFashionMnist(undefined, { [FASHION_MNIST_ENV]: join(dir, 'none') })).toThrow(
      /fashion-mnist: no IDX files .* in .*none \(\$PARQ_FASHION_MNIST\); install them with `apt-get install dataset-fashion-mnist`/,
    );
  });

  it('says how to install it when the folder has no IDX files, in one line', () => {
    let err: unknown;
    try {
      loadDataset(`fashion-mnist:${join(dir, 'missing')}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/missing \(fashion-mnist:DIR\)/);
    expect(msg).toMatch(/apt-get install dataset-fashion-mnist/);
    expect(msg).not.toMatch(/\n/);
  });

  it('refuses images that are not 28x28', () => {
    expect(() => loadFashionMnist(join(dir, 'wrong-size'))).toThrow(
      /holds 4x3 images, Fashion-MNIST's are 28x28/,
    );
  });

  it.skipIf(!existsSync(join(FASHION_MNIST_DEBIAN_DIR, 't10k-labels-idx1-ubyte.gz')))(
    "reads the Debian package's files: 60,000 train, 10,000 test, 6,000 / 1,000 per class",
    () => {
      const d = loadFashionMnist(undefined, {});
      expect([d.train.n, d.test.n]).toEqual([60000, 10000]);
      const counts = new Array(10).fill(0);
      for (const y of d.test.y) counts[y]++;
      expect(counts).toEqual(new Array(10).fill(1000));
      expect(d.train.x.length).toBe(60000 * 784);
    },
  );
});
