/// <reference types="node" />
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError, loadCsv, type CsvOptions } from '../../src/data/index.js';
import { removeDir, tempDir } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => removeDir(dir));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** 10 rows: a = i, b = 10 i, label = i % 3. */
function table(header = 'a,b,label'): string {
  const rows = Array.from({ length: 10 }, (_, i) => `${i},${10 * i},${i % 3}`);
  return [header, ...rows].join('\n') + '\n';
}

function loadError(path: string, opts: CsvOptions = {}): DataError {
  try {
    loadCsv(path, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).not.toContain('\n');
    return err as DataError;
  }
  throw new Error('loadCsv did not throw');
}

describe('csv loader', () => {
  it('draws a seeded test fraction and keeps file order in both splits', () => {
    const path = file('t.csv', table());
    const data = loadCsv(path, { testFrac: 0.3, seed: 1 });
    expect(data.inputShape).toEqual([2]);
    expect(data.numClasses).toBe(3);
    expect(data.train.n).toBe(7);
    expect(data.test.n).toBe(3);
    const rowsOf = (x: Float32Array) => Array.from(x).filter((_, k) => k % 2 === 0);
    const all = [...rowsOf(data.train.x), ...rowsOf(data.test.x)].sort((p, q) => p - q);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const split of [data.train, data.test]) {
      const a = rowsOf(split.x);
      expect(a).toEqual([...a].sort((p, q) => p - q));
      a.forEach((v, k) => {
        expect(split.x[2 * k + 1]).toBe(10 * v);
        expect(split.y[k]).toBe(v % 3);
      });
    }
    expect(loadCsv(path, { testFrac: 0.3, seed: 1 }).test.x).toEqual(data.test.x);
    expect(loadCsv(path, { testFrac: 0.3, seed: 2 }).test.x).not.toEqual(data.test.x);
  });

  it('uses a second file as the test split, matching columns by name', () => {
    const train = file('train.csv', table('a,b,label'));
    const test = file('test.csv', 'label,b,a,extra\r\n2,50,5,x\r\n\r\n1,70,7,y\r\n');
    const data = loadCsv(train, { testFile: test });
    expect(data.train.n).toBe(10);
    expect(data.test.n).toBe(2);
    expect(Array.from(data.test.x)).toEqual([5, 50, 7, 70]);
    expect(Array.from(data.test.y)).toEqual([2, 1]);
  });

  it('takes another label column and quoted header names', () => {
    const path = file('t.csv', '"class","f1"\n1,0.5\n0,-2e-1\n1,.25\n0,3.\n1,+4\n');
    const data = loadCsv(path, { labelColumn: 'class', testFrac: 0.4 });
    expect(data.inputShape).toEqual([1]);
    expect(data.train.n + data.test.n).toBe(5);
    expect(data.numClasses).toBe(2);
  });

  it('names a missing label column', () => {
    const path = file('t.csv', table('a,b,target'));
    expect(loadError(path).message).toMatch(
      /t\.csv: no label column 'label' in the header \(columns: a, b, target\)/,
    );
  });

  it('names the row and column of a non-numeric value', () => {
    const path = file('t.csv', 'a,b,label\n1,2,0\n3,abc,1\n');
    expect(loadError(path).message).toMatch(/t\.csv line 3, column 'b': non-numeric value 'abc'/);
    const empty = file('e.csv', 'a,b,label\n1,,0\n');
    expect(loadError(empty).message).toMatch(/e\.csv line 2, column 'b': non-numeric value ''/);
  });

  it('names a label that is not a class id', () => {
    const path = file('t.csv', 'a,label\n1,0\n2,1.5\n');
    expect(loadError(path).message).toMatch(
      /t\.csv line 3, column 'label': label 1\.5 is not a class id/,
    );
    const cat = file('c.csv', 'a,label\n1,cat\n');
    expect(loadError(cat).message).toMatch(
      /c\.csv line 2, column 'label': non-numeric value 'cat'/,
    );
  });

  it('names ragged rows', () => {
    const path = file('t.csv', 'a,b,label\n1,2,0\n3,4\n');
    expect(loadError(path).message).toMatch(/t\.csv line 3: 2 fields, the header has 3/);
  });

  it('names an empty file, a header without rows, and a missing file', () => {
    expect(loadError(file('e.csv', '\n\n')).message).toMatch(
      /e\.csv: empty file \(a header row is required\)/,
    );
    expect(loadError(file('h.csv', 'a,label\n')).message).toMatch(/h\.csv: no data rows/);
    expect(loadError(join(dir, 'none.csv')).message).toMatch(/none\.csv: missing file/);
  });

  it('names a test file without a training column, and a split left empty', () => {
    const train = file('train.csv', table());
    const test = file('test.csv', 'a,label\n1,0\n');
    expect(loadError(train, { testFile: test }).message).toMatch(
      /test\.csv: missing column 'b' \(the training file has it\)/,
    );
    expect(loadError(file('two.csv', 'a,label\n1,0\n2,1\n'), { testFrac: 0.1 }).message).toMatch(
      /two\.csv: a test fraction of 0\.1 of 2 rows leaves a split empty/,
    );
    expect(loadError(train, { testFrac: 1.5 }).message).toMatch(
      /test fraction must be in \(0, 1\)/,
    );
  });
});
