/// <reference types="node" />
// Corrupt and truncated checkpoints and packed files: refused with exit 2 and a one-line
// message naming the damaged file, before anything is restored or written.
import { cpSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../src/export/crc32.js';
import { parq, readJson, tinyCsvFixture } from '../cli/helpers.js';
import { listing } from './helpers.js';

const f = tinyCsvFixture('parq-faults-damage-');
let run: string;
let packed: string;
beforeAll(() => {
  f.setup();
  run = join(f.dir, 'run');
  const r = parq(['train', ...f.tiny(), '--epochs', '3', '--stop-after', '2', '--out', run]);
  expect(r.code, r.stderr).toBe(0);
  const done = join(f.dir, 'done');
  const d = parq(['train', ...f.tiny(), '--epochs', '2', '--out', done]);
  expect(d.code, d.stderr).toBe(0);
  packed = join(f.dir, 'm.parq');
  const e = parq(['export', done, '--out', packed]);
  expect(e.code, e.stderr + e.stdout).toBe(0);
});
afterAll(() => f.cleanup());

let copies = 0;
/** A copy of the run folder, damaged by `damage(checkpointDir)`. */
function damagedCopy(damage: (ckpt: string) => void): string {
  const dir = join(f.dir, `copy${copies++}`);
  cpSync(run, dir, { recursive: true });
  damage(join(dir, 'checkpoint'));
  return dir;
}

function flipByte(path: string, at = 0.5): void {
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length * at)] ^= 0x10;
  writeFileSync(path, bytes);
}

/** state.json rewritten by `edit`, sealed with a valid checksum (a consistent-looking file). */
function resealState(ckpt: string, edit: (state: any) => void): void {
  const path = join(ckpt, 'state.json');
  const state = readJson(path);
  delete state.crc32;
  edit(state);
  const json = JSON.stringify(state);
  writeFileSync(path, `${json.slice(0, -1)},"crc32":${crc32(new TextEncoder().encode(json))}}`);
}

function expectRefused(dir: string, file: RegExp, what: RegExp): void {
  const before = listing(dir);
  const metrics = readFileSync(join(dir, 'metrics.json'));
  for (const args of [
    ['train', '--resume', dir, '--quiet'],
    ['eval', dir],
  ]) {
    const r = parq(args);
    expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
    const line = r.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(file);
    expect(line).toMatch(what);
  }
  // Nothing was written.
  expect(listing(dir)).toEqual(before);
  expect(readFileSync(join(dir, 'metrics.json'))).toEqual(metrics);
}

describe('a damaged checkpoint', () => {
  it.each(['weights.bin', 'optimizer.bin', 'model.json'])(
    'one flipped byte in %s: exit 2, naming the file',
    (name) => {
      const dir = damagedCopy((c) => flipByte(join(c, name)));
      expectRefused(dir, new RegExp(`checkpoint/${name.replace('.', '\\.')}`), /checksum mismatch/);
    },
  );

  it('a truncated weights.bin, a missing optimizer.bin, a flipped digit in state.json', () => {
    expectRefused(
      damagedCopy((c) => truncateSync(join(c, 'weights.bin'), 100)),
      /weights\.bin/,
      /checksum mismatch/,
    );
    expectRefused(
      damagedCopy((c) => writeFileSync(join(c, 'optimizer.bin'), '')),
      /optimizer\.bin/,
      /checksum mismatch/,
    );
    const epochDigit = damagedCopy((c) => {
      const p = join(c, 'state.json');
      writeFileSync(p, readFileSync(p, 'utf8').replace('"epoch":2', '"epoch":1'));
    });
    expectRefused(epochDigit, /state\.json/, /checksum mismatch/);
  });

  it('a state.json without optimizer, or with swapped optimizer specs, names state.json', () => {
    expectRefused(
      damagedCopy((c) => resealState(c, (s) => delete s.optimizer)),
      /state\.json/,
      /no optimizer/,
    );
    const swapped = damagedCopy((c) =>
      resealState(c, (s) => {
        const specs = s.optimizer.specs;
        const i = specs.findIndex((x: any) => /kernel\/momentum$/.test(x.name));
        const j = specs.findIndex((x: any, k: number) => k > i && /kernel\/momentum$/.test(x.name));
        [specs[i].name, specs[j].name] = [specs[j].name, specs[i].name];
      }),
    );
    const r = parq(['train', '--resume', swapped, '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/state\.json: optimizer tensor '.*kernel\/momentum' has shape/);
  });
});

describe('a damaged packed file', () => {
  const damaged = (name: string, edit: (b: Buffer) => Buffer): string => {
    const p = join(f.dir, name);
    writeFileSync(p, edit(readFileSync(packed)));
    return p;
  };

  it.each([
    ['truncated', (b: Buffer) => b.subarray(0, b.length - 7), /truncated file/],
    ['bit flip', (b: Buffer) => ((b[b.length - 3] ^= 1), b), /checksum mismatch/],
    ['empty', () => Buffer.alloc(0), /not a parq packed file/],
    ['a PNG', () => Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), /wrong magic bytes/],
  ] as const)('%s: info and eval exit 2 naming the problem', (_name, edit, message) => {
    const p = damaged(`${_name.replace(/\W/g, '')}.parq`, edit);
    for (const cmd of ['info', 'eval']) {
      const r = parq([cmd, p]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('parq export of a packed file says it is one', () => {
    const r = parq(['export', packed, '--out', join(f.dir, 'again.parq')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('already a packed file');
  });
});
