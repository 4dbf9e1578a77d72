/// <reference types="node" />
// The single-file CLI of scripts/bundle-cli.mjs (what a GPU machine without node_modules runs,
// scripts/gpu-measure.sh): built into a temporary folder and run from a folder with no
// package.json above it. It once failed every command (the version was read from
// ../../package.json, which is not beside a bundle).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cli/helpers.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parq-bundle-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle-cli.mjs'), '--out', dir], {
    stdio: 'ignore',
  });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [join(dir, 'parq.cjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('the bundled CLI (parq.cjs)', () => {
  it('prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const r = run(['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('runs a command: the golden vectors pass on wasm', () => {
    const vectors = join(ROOT, '..', 'shared', 'conformance', 'vectors.json');
    const r = run(['conformance', vectors, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\b(\d+) passed, 0 failed/);
  });
});
