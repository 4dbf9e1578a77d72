/// <reference types="node" />
// Bad input through the real binary: one line `parq: <problem>` on stderr, exit code 2, no
// stack trace, and nothing lost (an existing run is left as it was).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parq, writeCsv, writeIdx } from './helpers.js';

let dir: string;
let csv: string;
let run: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'parq-cli-errors-'));
  csv = join(dir, 'table.csv');
  writeCsv(csv);
  writeIdx(join(dir, 'idx-ok'));
  writeIdx(join(dir, 'idx-magic'), 'magic');
  writeIdx(join(dir, 'idx-truncated'), 'truncated');
  writeIdx(join(dir, 'idx-counts'), 'counts');
  mkdirSync(join(dir, 'unreadable'));
  writeFileSync(join(dir, 'bad.csv'), 'a,b,label\n1,2,0\n3,x,1\n');
  run = join(dir, 'run');
  const r = parq([
    'train',
    '--data',
    `csv:${csv}`,
    '--hidden',
    '8',
    '--epochs',
    '1',
    '--quiet',
    '--out',
    run,
  ]);
  expect(r.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs parq and checks the one-line error; returns the line. */
function fails(args: string[]): string {
  const r = parq(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^parq: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

describe('parq: bad input', () => {
  it('names the data problem: missing path, wrong magic, truncated file, count mismatch, bad CSV', () => {
    const data = (spec: string) => fails(['train', '--data', spec, '--epochs', '1', '--quiet']);
    expect(data(`idx:${join(dir, 'nothing')}`)).toMatch(
      /nothing\/train-images-idx3-ubyte: missing file/,
    );
    expect(data(`csv:${join(dir, 'nothing.csv')}`)).toMatch(/nothing\.csv: missing file/);
    expect(data(`csv:${join(dir, 'unreadable')}`)).toMatch(/unreadable: cannot read/);
    expect(data(`idx:${join(dir, 'idx-magic')}`)).toMatch(/train-images-idx3-ubyte.*magic/i);
    expect(data(`idx:${join(dir, 'idx-truncated')}`)).toMatch(
      /train-images-idx3-ubyte.*(truncated|bytes)/i,
    );
    expect(data(`idx:${join(dir, 'idx-counts')}`)).toMatch(/39.*40|40.*39/);
    expect(data(`csv:${join(dir, 'bad.csv')}`)).toMatch(
      /bad\.csv line 3, column 'b': non-numeric value 'x'/,
    );
    expect(data('mnist:extra')).toMatch(/mnist takes no argument/);
  });

  it('refuses to touch an existing run, and a resume that changes the config', () => {
    const before = readFileSync(join(run, 'metrics.json'), 'utf8');
    const weights = readFileSync(join(run, 'checkpoint', 'weights.bin'));
    expect(fails(['train', '--data', `csv:${csv}`, '--out', run])).toMatch(
      /already holds a run: --resume .* --overwrite/,
    );
    expect(fails(['train', '--resume', run])).toMatch(/already complete \(1 of 1 epochs\)/);
    expect(fails(['train', '--resume', run, '--lr', '0.1'])).toMatch(
      /--lr: the checkpoint's run has lr 0.05/,
    );
    // A data error with --overwrite happens before anything is written.
    expect(
      fails(['train', '--data', `idx:${join(dir, 'idx-magic')}`, '--out', run, '--overwrite']),
    ).toMatch(/magic/i);
    expect(readFileSync(join(run, 'metrics.json'), 'utf8')).toBe(before);
    expect(Buffer.compare(readFileSync(join(run, 'checkpoint', 'weights.bin')), weights)).toBe(0);
  });

  it('reports a damaged checkpoint in one line', () => {
    const broken = join(dir, 'broken');
    mkdirSync(join(broken, 'checkpoint'), { recursive: true });
    writeFileSync(join(broken, 'checkpoint', 'state.json'), '{"format": "something-else"}');
    expect(fails(['info', broken])).toMatch(/state\.json: not a parq checkpoint/);
    writeFileSync(join(broken, 'checkpoint', 'state.json'), '{ not json');
    expect(fails(['eval', broken])).toMatch(/state\.json: cannot read a checkpoint state/);
  });

  it('trains on a good IDX folder (the fixture itself is sound)', () => {
    const r = parq([
      'train',
      '--data',
      `idx:${join(dir, 'idx-ok')}`,
      '--hidden',
      '8',
      '--epochs',
      '1',
      '--batch-size',
      '8',
      '--quiet',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
