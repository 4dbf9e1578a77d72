/// <reference types="node" />
/**
 * CLI start-up: `parq`, `parq --help` and `parq --version` build the program from the command
 * stubs (src/cli/command-stubs.ts) and import nothing of tfjs; the stubs print exactly the
 * help the full commands print.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProgram, topLevelOnly } from '../../src/cli/main.js';
import { BIN, ensureBuilt } from './helpers.js';

/** Runs bin/parq.js with a module hook that reports every @tensorflow/* import on stderr. */
function runWatchingImports(args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'parq-startup-'));
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    `export async function resolve(s, c, next) {
  if (s.startsWith('@tensorflow/')) process.stderr.write('IMPORTED ' + s + '\\n');
  return next(s, c);
}\n`,
  );
  const register = `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hook).href)});`;
  const r = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(register)}`, BIN, ...args],
    { encoding: 'utf8' },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('CLI start-up', () => {
  beforeAll(() => ensureBuilt());

  it('the command stubs print the same top-level help as the full commands', async () => {
    const stubs = (await createProgram('stubs')).helpInformation();
    const full = (await createProgram('full')).helpInformation();
    expect(stubs).toBe(full);
    expect(stubs).toContain('conformance [options] <file>');
  });

  it('tells top-level help and version from command lines that need a command', () => {
    for (const argv of [[], ['--help'], ['-h'], ['-V'], ['--version'], ['help']]) {
      expect(topLevelOnly(argv)).toBe(true);
    }
    for (const argv of [
      ['train'],
      ['train', '--help'],
      ['help', 'train'],
      ['--bogus'],
      ['bogus'],
      ['eval', 'x', '-V'],
    ]) {
      expect(topLevelOnly(argv)).toBe(false);
    }
  });

  it('`parq --help` and `parq --version` import no tfjs; `parq train --help` does', () => {
    const help = runWatchingImports(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Commands:');
    expect(help.stderr).not.toContain('IMPORTED');
    const version = runWatchingImports(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(version.stderr).not.toContain('IMPORTED');
    // the hook does see tfjs where a command is needed (so the checks above can fail)
    const train = runWatchingImports(['train', '--help']);
    expect(train.code).toBe(0);
    expect(train.stdout).toContain('Usage: parq train');
    expect(train.stderr).toContain('IMPORTED @tensorflow/tfjs');
  });

  it('an unknown command still gets the one-line error (exit 2)', () => {
    const r = runWatchingImports(['bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("parq: unknown command 'bogus'");
  });
});
