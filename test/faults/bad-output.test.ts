/// <reference types="node" />
// `--out` is claimed before training: an unusable folder is refused at once (exit 2, one line
// naming the cause), a second writer is refused by the lock, and `--resume A --out B` does
// not overwrite another run in B.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parq, tinyCsvFixture } from '../cli/helpers.js';
import { existsIn, listing, sleep, startParq } from './helpers.js';

const f = tinyCsvFixture('parq-faults-out-');
beforeAll(() => f.setup());
afterAll(() => f.cleanup());

function refusedOut(out: string, cause: RegExp): void {
  const t0 = Date.now();
  const r = parq(['train', ...f.tiny(), '--epochs', '1', '--out', out], 60_000);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(cause);
  expect(Date.now() - t0).toBeLessThan(60_000);
}

describe('an unusable --out', () => {
  it('is refused before training, naming the cause', () => {
    const file = join(f.dir, 'a-file');
    writeFileSync(file, 'x');
    refusedOut(join(file, 'run'), /--out .*a-file\/run: .*a-file is not a folder/);
    refusedOut(file, /--out .*a-file: exists and is not a folder/);
    refusedOut('', /--out: empty path/);
    const link = join(f.dir, 'dangling');
    symlinkSync(join(f.dir, 'nowhere'), link);
    refusedOut(link, /dangling symbolic link/);
    refusedOut(join(link, 'run'), /dangling symbolic link/);
    // /proc holds no folders of ours: refused at once, not a recursive mkdir spinning forever.
    refusedOut(
      '/proc/parq-run/x',
      /cannot create folder \/proc\/parq-run \(\/proc does not allow creating folders/,
    );
  });

  it('a read-only mount is named as such (root only: skipped elsewhere)', (ctx) => {
    const ro = join(f.dir, 'ro');
    mkdirSync(ro);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
    if (m.status !== 0) {
      console.warn(`skipped: cannot mount a read-only tmpfs here (${String(m.stderr).trim()})`);
      ctx.skip();
    }
    try {
      refusedOut(join(ro, 'run'), /EROFS: read-only file system/);
    } finally {
      spawnSync('umount', [ro]);
    }
  });
});

describe('two writers and --resume --out', () => {
  it('a second run into a folder another live parq holds is refused by the lock', async () => {
    const out = join(f.dir, 'shared');
    const first = startParq(['train', ...f.tiny(), '--epochs', '300', '--out', out]);
    for (let i = 0; i < 500 && !existsIn(out, '.parq.lock'); i++) await sleep(20);
    expect(readFileSync(join(out, '.parq.lock'), 'utf8').trim()).toBe(String(first.pid));
    const second = parq(['train', ...f.tiny(), '--epochs', '2', '--out', out, '--overwrite']);
    first.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(
      new RegExp(`another parq process \\(pid ${first.pid}\\) is writing this run`),
    );
  });

  it('--resume A --out B refuses to overwrite another run in B', () => {
    const a = join(f.dir, 'A');
    const b = join(f.dir, 'B');
    expect(
      parq(['train', ...f.tiny(), '--epochs', '2', '--stop-after', '1', '--out', a]).code,
    ).toBe(0);
    expect(parq(['train', ...f.tiny(), '--epochs', '1', '--seed', '3', '--out', b]).code).toBe(0);
    const before = readFileSync(join(b, 'checkpoint', 'weights.bin'));
    const r = parq(['train', '--resume', a, '--out', b, '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out .*B already holds another run/);
    expect(readFileSync(join(b, 'checkpoint', 'weights.bin'))).toEqual(before);
    expect(listing(b)).toEqual(['checkpoint', 'metrics.json', 'report.html']);
  });
});
