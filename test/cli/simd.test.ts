// `--simd`: which build of parq-ts's wasm SIMD kernels a run takes, and the summary saying so.
// The default, relaxed, runs them as Node 22 and Chrome do, turning Node 20's V8 flag on for
// it (src/backend/wasm/relaxed-simd-flag.ts); simd128 keeps the SIMD128 build. LeNet-5: the
// convolutions are where the two builds differ.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parq, readJson } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'parq-simd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The `simd` field of the metrics.json a run wrote to `out`. */
const simdOf = (out: string) => readJson<{ simd?: string }>(join(out, 'metrics.json')).simd;

const RUN = ['train', '--model', 'lenet5', '--method', 'fp', '--epochs', '1'];
const SMALL = ['--limit-train', '128', '--limit-test', '64', '--batch-size', '32'];

describe('parq train --simd', () => {
  it('runs the relaxed-SIMD kernels by default, and says so in the summary', () => {
    ensureBuilt();
    const out = join(dir, 'default');
    const r = parq([...RUN, ...SMALL, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/· backend wasm \(relaxed SIMD\)\n/);
    expect(simdOf(out)).toBe('relaxed'); // recorded: the builds round convolutions differently
    expect(r.stderr).not.toMatch(/relaxed SIMD not available/);
  });

  it('runs the SIMD128 kernels with --simd simd128, to the same accuracy within a sample', () => {
    const a = parq([...RUN, ...SMALL, '--simd', 'simd128', '--out', join(dir, 'simd128')]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/· backend wasm \(SIMD128\)\n/);
    expect(simdOf(join(dir, 'simd128'))).toBe('simd128');
    const b = parq([...RUN, ...SMALL, '--simd', 'relaxed']);
    expect(b.code, b.stderr).toBe(0);
    const acc = (s: string) => Number(/final test accuracy: ([\d.]+)%/.exec(s)?.[1]);
    // the builds differ by the rounding of fused multiply-adds: the same run up to a sample
    expect(Math.abs(acc(a.stdout) - acc(b.stdout))).toBeLessThanOrEqual(100 / 64);
  });

  it('names no SIMD build where the kernels do not run (the threaded build)', () => {
    const r = parq([...RUN, ...SMALL, '--threads', '2', '--out', join(dir, 'threads')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/· backend wasm\n/);
    expect(simdOf(join(dir, 'threads'))).toBeUndefined();
  });
});
