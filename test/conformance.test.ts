import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const shared = `${root}../shared/conformance`;

function parq(args: string[]): { code: number; out: string } {
  try {
    const out = execFileSync('node', [`${root}bin/parq.js`, ...args], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return { code: 0, out };
  } catch (e: any) {
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

describe.runIf(existsSync(shared))('parq conformance (CLI, public API)', () => {
  for (const [file, n] of [
    ['vectors.json', 453],
    ['vectors-optimal.json', 54],
  ] as const) {
    it(`passes all ${n} cases of ${file} on wasm`, () => {
      const { code, out } = parq(['conformance', '--backend', 'wasm', `${shared}/${file}`]);
      expect(out.trim().split('\n').pop()).toBe(`${n} passed, 0 failed`);
      expect(code).toBe(0);
    });
  }

  it('without the reference quirks, only the cases of the reference departures fail', () => {
    const { code, out } = parq(['conformance', '--compat', 'exact', `${shared}/vectors.json`]);
    expect(code).toBe(1);
    const failed = out.split('\n').filter((l) => l.includes('FAILED'));
    expect(failed.length).toBeGreaterThan(0);
    for (const line of failed) expect(line).toMatch(/AsymUnifQuantizer|LSBQuantizer bits=0/);
  });

  it('a file that is not a conformance file is a one-line error with exit code 2', () => {
    const { code, out } = parq(['conformance', `${root}package.json`]);
    expect(code).toBe(2);
    expect(out.trim().split('\n').length).toBe(1);
    expect(out).toMatch(/not a conformance file/);
  });
});
