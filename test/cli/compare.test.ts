/// <reference types="node" />
// `parq compare`: the grid, the mean ± sd table, the outputs, and continuing a rerun.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parq, readJson, writeCsv } from './helpers.js';

let dir: string;
let csv: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'parq-cli-compare-'));
  csv = join(dir, 'table.csv');
  writeCsv(csv);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parq compare', () => {
  it('runs every method x bits x seed, prints and writes the table and reports, keeps finished runs', () => {
    const out = join(dir, 'cmp');
    const args = [
      'compare',
      '--data',
      `csv:${csv}`,
      '--hidden',
      '8',
      '--batch-size',
      '16',
      '--lr',
      '0.1',
      '--epochs',
      '2',
    ];
    const grid = ['--methods', 'fp,ste,parq', '--bits', '1,2', '--seeds', '2', '--out', out];
    const r = parq([...args, ...grid]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| method \| quantizer \| bits \| test accuracy % \(mean ± sd\) \|/);
    expect(r.stdout).toMatch(/\| fp \| none \| 32 \(float\) \| \d+\.\d\d ± \d+\.\d\d \| 2 \|/);
    expect(r.stdout).toMatch(/\| parq \| lsbq \| 1 \| \d+\.\d\d ± \d+\.\d\d \| 2 \| yes \|/);
    expect(r.stdout).toContain(`report: ${join(out, 'report.html')}`);
    const summary = readJson(join(out, 'compare.json'));
    expect(summary.rows.map((row: { group: string }) => row.group)).toEqual([
      'fp',
      'ste lsbq 1-bit',
      'ste lsbq 2-bit',
      'parq lsbq 1-bit',
      'parq lsbq 2-bit',
    ]);
    for (const row of summary.rows) {
      expect(row.seeds).toEqual([0, 1]);
      const accs = row.runs.map(
        (id: string) => readJson(join(out, 'runs', id, 'metrics.json')).final.testAccuracy,
      );
      expect(row.accuracies).toEqual(accs);
      const mean = (accs[0] + accs[1]) / 2;
      expect(row.mean).toBeCloseTo(mean, 12);
      expect(row.sd).toBeCloseTo(Math.abs(accs[0] - accs[1]) / 2, 12);
    }
    expect(readFileSync(join(out, 'compare.md'), 'utf8')).toContain('| ste | lsbq | 2 |');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('href="runs/parq-lsbq-2b-s1/report.html"');
    expect(existsSync(join(out, 'runs', 'parq-lsbq-2b-s1', 'checkpoint', 'state.json'))).toBe(true);

    // The same command again keeps every finished run and writes the same table.
    const again = parq([...args, ...grid]);
    expect(again.code).toBe(0);
    expect(again.stderr.match(/: kept/g)).toHaveLength(10);
    expect(readJson(join(out, 'compare.json')).rows).toEqual(summary.rows);
    // Another setup in the same folder is refused.
    const other = parq([...args.map((a) => (a === '0.1' ? '0.2' : a)), ...grid]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/holds a different run: use another --out, or --overwrite/);
  });
});
