/// <reference types="node" />
// Small things a user types: --version, `~` in path flags, eval -q, export --overwrite,
// "1 epoch" in the summary. In process (src/cli/main.ts), on the cpu backend.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expandHome, expandHomeInArgs } from '../../src/cli/expand-home.js';
import { main } from '../../src/cli/main.js';
import { writeCsv } from './helpers.js';

let home: string;
const oldHome = process.env.HOME;

/** Runs main(argv) capturing stdout; resolves to [exit code, stdout]. */
async function run(argv: string[]): Promise<[number, string]> {
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    chunks.push(String(s));
    return true;
  });
  try {
    return [await main(argv), chunks.join('')];
  } finally {
    write.mockRestore();
  }
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'parq-home-'));
  process.env.HOME = home; // os.homedir() reads HOME
  writeCsv(join(home, 'table.csv'));
});
afterAll(() => {
  process.env.HOME = oldHome;
  rmSync(home, { recursive: true, force: true });
});

it('expands a leading ~ in arguments, after --flag= and after a dataset kind, not ~user', () => {
  expect(expandHome('~', '/h')).toBe('/h');
  expect(expandHome('~/a', '/h')).toBe('/h/a');
  expect(expandHome('a/~/b', '/h')).toBe('a/~/b');
  expect(expandHomeInArgs(['--out=~/r', 'idx:~/mnist', '~bob/x', '--bits', '2'], '/h')).toEqual([
    '--out=/h/r',
    'idx:/h/mnist',
    '~bob/x',
    '--bits',
    '2',
  ]);
});

it('--version and -V print the package version', async () => {
  const { version } = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  );
  expect(await run(['--version'])).toEqual([0, `${version}\n`]);
  expect(await run(['-V'])).toEqual([0, `${version}\n`]);
});

describe('a run trained from ~/table.csv into ~/run', () => {
  let summary = '';
  beforeAll(async () => {
    const [code, out] = await run([
      'train',
      '--data',
      'csv:~/table.csv',
      '--hidden',
      '8',
      '--epochs',
      '1',
      '--bits',
      '1',
      '--backend',
      'cpu',
      '--out=~/run',
    ]);
    expect(code).toBe(0);
    summary = out;
  });

  it('says "1 epoch", and wrote the run under the home folder', () => {
    expect(summary).toMatch(/· 1 epoch ·/);
    expect(summary).not.toMatch(/1 epochs/);
    expect(JSON.parse(readFileSync(join(home, 'run', 'metrics.json'), 'utf8')).status).toBe(
      'complete',
    );
  });

  it('eval -q prints the accuracy alone, the same number --json gives', async () => {
    const [c1, quiet] = await run(['eval', '~/run', '-q', '--backend', 'cpu']);
    const [c2, json] = await run(['eval', '~/run', '--json', '--backend', 'cpu']);
    expect([c1, c2]).toEqual([0, 0]);
    expect(quiet).toMatch(/^[\d.]+\n$/);
    expect(Number(quiet)).toBe(JSON.parse(json).accuracy);
  });

  it('export refuses an existing file without --overwrite, leaves it intact, replaces it with', async () => {
    const out = join(home, 'm.parq');
    writeFileSync(out, 'old');
    await expect(main(['export', '~/run', '--out', out, '-q'])).rejects.toThrow(
      `${out} already exists: --overwrite replaces it`,
    );
    expect(readFileSync(out, 'utf8')).toBe('old');
    expect(await main(['export', '~/run', '--out', out, '-q', '--overwrite'])).toBe(0);
    expect(readFileSync(out).subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x51, 0x4b]));
  });
});
