import { readBytes } from './files.js';
import { mixSeed, mulberry32, permutation } from '../util/random.js';
import { countClasses, DataError, type Dataset, type Split } from './types.js';

export interface CsvOptions {
  /** Name of the column holding the class ids (non-negative integers). Default 'label'. */
  labelColumn?: string;
  /** A second CSV file with the same columns to use as the test split. */
  testFile?: string;
  /** Without `testFile`: fraction of rows drawn (seeded) for the test split. Default 0.2. */
  testFrac?: number;
  /** Seed of the `testFrac` draw. Default 0. */
  seed?: number;
}

/** Rows of one CSV file: features (in `columns` order) and class ids. */
interface CsvTable {
  columns: string[];
  split: Split;
}

/**
 * A table from CSV: a header row is required; every other column is a numeric feature.
 * Plain CSV only: comma-separated, one row a line, no quoted commas (quotes around a whole
 * cell are dropped); blank lines are skipped. Input shape [number of features].
 *
 * Test split: `testFile` if given (columns matched by name), else a seeded draw of
 * round(testFrac * rows) rows; both splits keep file order.
 */
export function loadCsv(path: string, opts: CsvOptions = {}): Dataset {
  const labelColumn = opts.labelColumn ?? 'label';
  const table = parseCsv(path, labelColumn);
  let train: Split;
  let test: Split;
  if (opts.testFile !== undefined) {
    train = table.split;
    test = parseCsv(opts.testFile, labelColumn, table.columns).split;
  } else {
    [train, test] = splitByFraction(path, table.split, opts.testFrac ?? 0.2, opts.seed ?? 0);
  }
  return {
    name: `csv:${path}`,
    train,
    test,
    inputShape: [table.columns.length],
    numClasses: countClasses(train.y, test.y),
  };
}

/**
 * Parses one CSV file. With `columns`, the features are taken in that order (by header name)
 * and any other column but the label is ignored; else every non-label column, in file order.
 */
export function parseCsv(path: string, labelColumn: string, columns?: string[]): CsvTable {
  const text = new TextDecoder().decode(readBytes(path));
  const lines = text.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) throw new DataError(`${path}: empty file (a header row is required)`);
  const header = cells(lines[headerAt]);
  const seen = new Map<string, number>();
  header.forEach((name, k) => {
    const first = seen.get(name);
    if (first !== undefined) {
      throw new DataError(
        `${path} line ${headerAt + 1}: column name '${name}' appears twice (columns ${first + 1} and ${k + 1}); names must be unique`,
      );
    }
    seen.set(name, k);
  });
  const labelAt = header.indexOf(labelColumn);
  if (labelAt < 0) {
    throw new DataError(
      `${path}: no label column '${labelColumn}' in the header (columns: ${header.join(', ')})`,
    );
  }
  const names = columns ?? header.filter((_, k) => k !== labelAt);
  if (names.length === 0) throw new DataError(`${path}: no feature columns besides the label`);
  const featureAt = names.map((name) => {
    const k = header.indexOf(name);
    if (k < 0) throw new DataError(`${path}: missing column '${name}' (the training file has it)`);
    return k;
  });
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = headerAt + 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const row = cells(lines[i]);
    const where = `${path} line ${i + 1}`;
    if (row.length !== header.length) {
      throw new DataError(`${where}: ${row.length} fields, the header has ${header.length}`);
    }
    for (const k of featureAt) xs.push(parseNumber(row[k], where, header[k]));
    const label = parseNumber(row[labelAt], where, labelColumn);
    if (!Number.isInteger(label) || label < 0) {
      throw new DataError(
        `${where}, column '${labelColumn}': label ${row[labelAt]} is not a class id (0, 1, 2, ...)`,
      );
    }
    ys.push(label);
  }
  if (ys.length === 0) throw new DataError(`${path}: no data rows after the header`);
  const split = { x: Float32Array.from(xs), y: Int32Array.from(ys), n: ys.length };
  return { columns: names, split };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A cell as the float32 it will be trained as: non-numeric, or beyond float32 (1e39), is refused. */
function parseNumber(cell: string, where: string, column: string): number {
  if (!NUMBER.test(cell)) {
    throw new DataError(`${where}, column '${column}': non-numeric value '${cell}'`);
  }
  const v = Number(cell);
  if (!Number.isFinite(Math.fround(v))) {
    throw new DataError(
      `${where}, column '${column}': ${cell} is beyond the float32 range (about ±3.4e38)`,
    );
  }
  return v;
}

function cells(line: string): string[] {
  return line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
}

function splitByFraction(path: string, all: Split, frac: number, seed: number): [Split, Split] {
  if (!(frac > 0 && frac < 1)) {
    throw new DataError(`${path}: test fraction must be in (0, 1), got ${frac}`);
  }
  const nTest = Math.round(frac * all.n);
  if (nTest === 0 || nTest === all.n) {
    throw new DataError(
      `${path}: a test fraction of ${frac} of ${all.n} rows leaves a split empty`,
    );
  }
  const perm = permutation(all.n, mulberry32(mixSeed(seed)));
  const testIdx = perm.subarray(0, nTest).sort();
  const trainIdx = perm.subarray(nTest).sort();
  return [take(all, trainIdx), take(all, testIdx)];
}

function take(all: Split, indices: Int32Array): Split {
  const size = all.x.length / all.n;
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  indices.forEach((i, k) => {
    x.set(all.x.subarray(i * size, (i + 1) * size), k * size);
    y[k] = all.y[i];
  });
  return { x, y, n: indices.length };
}
