/// <reference types="node" />
// A full disk: a small tmpfs (mounting needs root; skipped with a notice elsewhere). Full
// before the start: refused at once (exit 2), nothing left. Full during the run: exit 1, one
// line naming the file and ENOSPC, and the checkpoint left is complete and verified.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parq, tinyCsvFixture } from '../cli/helpers.js';
import { listing, verifiedCheckpoint } from './helpers.js';

const f = tinyCsvFixture('parq-faults-disk-');
let disk = '';
let mounted = false;
beforeAll(() => {
  f.setup();
  disk = join(f.dir, 'disk');
  mkdirSync(disk);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', disk]);
  mounted = m.status === 0;
  if (!mounted)
    console.warn(`disk-full tests skipped: cannot mount a tmpfs (${String(m.stderr).trim()})`);
});
afterAll(() => {
  if (mounted) spawnSync('umount', [disk]);
  f.cleanup();
});

/** Fills the tmpfs, leaving about `free` bytes. */
function fill(name: string, free: number): void {
  const st = spawnSync('df', ['-B1', '--output=avail', disk], { encoding: 'utf8' });
  const avail = Number(st.stdout.trim().split('\n')[1]);
  writeFileSync(join(disk, name), Buffer.alloc(Math.max(0, avail - free)));
}

describe('a full disk', () => {
  it('full at the start: exit 2 before training, naming ENOSPC, nothing left', (ctx) => {
    if (!mounted) ctx.skip();
    fill('filler-a', 0);
    const out = join(disk, 'run-a');
    const r = parq(['train', ...f.tiny(), '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^parq: --out .*run-a: cannot write in it \(ENOSPC: no space left on device\)$/,
    );
    expect(listing(disk)).toEqual(['filler-a']);
    spawnSync('rm', ['-f', join(disk, 'filler-a')]);
  });

  it('full during the run: exit 1 naming the file, the checkpoint left is complete', (ctx) => {
    if (!mounted) ctx.skip();
    // Room for a few epochs: metrics.json and report.html grow every epoch until they do not fit.
    fill('filler-b', 160 * 1024);
    const out = join(disk, 'run-b');
    const r = parq(['train', ...f.tiny(), '--epochs', '200', '--out', out]);
    expect(r.code, r.stderr).toBe(1);
    const line = r.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(
      /^parq: .*run-b\/\S+: cannot write \(ENOSPC: no space left on device\) \(epoch \d+;/,
    );
    const state = verifiedCheckpoint(out); // throws if damaged
    expect(state?.epoch ?? 0).toBeGreaterThanOrEqual(1);
    // No temporary file or folder, and no lock, is left behind.
    expect(listing(out).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
