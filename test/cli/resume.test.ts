/// <reference types="node" />
// `parq train --stop-after` then `--resume` continues exactly: the final weights, optimizer
// state and metrics equal those of one uninterrupted run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parq, readJson, stableMetrics, writeCsv } from './helpers.js';

let dir: string;
let csv: string;
const tiny = () => [
  '--data',
  `csv:${csv}`,
  '--hidden',
  '16',
  '--batch-size',
  '16',
  '--lr',
  '0.1',
  '--quiet',
];

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'parq-cli-resume-'));
  csv = join(dir, 'table.csv');
  writeCsv(csv);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parq train --resume', () => {
  it.each([
    ['parq', []],
    ['admmq', []],
    ['fp', ['--optimizer', 'adam', '--lr', '0.01']],
    ['ste', ['--optimizer', 'adam', '--lr', '0.01', '--per-channel']],
  ])('resumes %s exactly: 2 epochs + resume 2 equals 4 epochs', (method, extra) => {
    const args = [...tiny(), '--epochs', '4', '--method', method, ...extra];
    const whole = join(dir, `whole-${method}`);
    const split = join(dir, `split-${method}`);
    expect(parq(['train', ...args, '--out', whole]).code).toBe(0);
    expect(parq(['train', ...args, '--out', split, '--stop-after', '2']).code).toBe(0);
    expect(readJson(join(split, 'metrics.json'))).toMatchObject({
      status: 'stopped',
      epochsDone: 2,
    });
    expect(readJson(join(split, 'checkpoint', 'state.json'))).toMatchObject({
      epoch: 2,
      dataOrder: { nextEpoch: 2 },
    });
    const resumed = parq(['train', '--resume', split, '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    for (const f of ['weights.bin', 'optimizer.bin']) {
      const a = readFileSync(join(whole, 'checkpoint', f));
      const b = readFileSync(join(split, 'checkpoint', f));
      expect(Buffer.compare(a, b), f).toBe(0);
    }
    expect(stableMetrics(join(split, 'metrics.json'))).toEqual(
      stableMetrics(join(whole, 'metrics.json')),
    );
  });
});
