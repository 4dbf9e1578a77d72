/// <reference types="node" />
// Ctrl-C during `parq train`: exit 130, the last complete checkpoint intact, and resumable.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt, parq, readJson, ROOT } from './helpers.js';

let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'parq-cli-interrupt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('parq train, interrupted', () => {
  it('stops on SIGINT between steps, keeps the last checkpoint, and resumes from it', async () => {
    const out = join(dir, 'run');
    // Long enough not to finish: 40 epochs of 32 steps on MNIST digits.
    const args = [
      'train',
      '--limit-train',
      '2048',
      '--limit-test',
      '200',
      '--epochs',
      '40',
      '--out',
      out,
    ];
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    const state = join(out, 'checkpoint', 'state.json');
    for (let i = 0; i < 600 && !existsSync(state); i++) await sleep(100);
    expect(existsSync(state), stderr).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('parq: SIGINT: stopping after the current step');
    const done = readJson(state).epoch;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(40);
    const metrics = readJson(join(out, 'metrics.json'));
    expect(metrics).toMatchObject({ status: 'interrupted', epochsDone: done });
    expect(stdout).toContain(
      `interrupted: the checkpoint of epoch ${done} is in ${out}; continue with: parq train --resume ${out}`,
    );
    // No temporary or half-swapped checkpoint is left behind.
    expect(readdirSync(out).sort()).toEqual(['checkpoint', 'metrics.json', 'report.html']);

    const resumed = parq(['train', '--resume', out, '--stop-after', '1', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readJson(join(out, 'metrics.json'))).toMatchObject({
      status: 'stopped',
      epochsDone: done + 1,
    });
    expect(readJson(state).epoch).toBe(done + 1);
  });
});
