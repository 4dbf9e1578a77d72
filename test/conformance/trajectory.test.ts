/// <reference types="node" />
/**
 * Trajectory files (parq-trajectory/1): the replay follows the reference, a perturbed loss fails
 * the case at that step, and a malformed file is one error naming the case and field (exit 2).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTrajectoryFile, type TrajectoryFile } from '../../src/conformance/trajectory-file.js';
import { comparedSteps, runTrajectoryCase } from '../../src/conformance/trajectory.js';
import { loadMnist } from '../../src/data/mnist.js';
import { useBackend } from '../helpers.js';
import { BIN, ensureBuilt } from '../cli/helpers.js';

const PUBLIC = new URL('../../../shared/conformance/trajectories.json', import.meta.url).pathname;

/** The public file cut to its first case, 30 steps (horizon 29: 23 steps compared, no final). */
function smallFile(): TrajectoryFile {
  const file = JSON.parse(readFileSync(PUBLIC, 'utf8')) as TrajectoryFile;
  const c = file.cases.find((k) => k.name === 'parq-lsbq-2')!;
  file.cases = [{ ...c, steps: 30, horizon: 29, losses: c.losses.slice(0, 30), final: undefined }];
  file.batches = file.batches.slice(0, 30);
  return file;
}

function parq(args: string[]): { code: number; out: string; err: string } {
  try {
    const out = execFileSync('node', [BIN, ...args], { encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, out, err: '' };
  } catch (e: any) {
    return { code: e.status, out: String(e.stdout), err: String(e.stderr) };
  }
}

describe.runIf(existsSync(PUBLIC))('parq-trajectory/1', () => {
  let dir: string;
  beforeAll(async () => {
    ensureBuilt();
    await useBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'parq-traj-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the public file is well formed', () => {
    expect(() => checkTrajectoryFile(JSON.parse(readFileSync(PUBLIC, 'utf8')))).not.toThrow();
  });

  it('replays a case within 1e-4 per step, and a perturbed loss fails at its step', async () => {
    const file = smallFile();
    const c = file.cases[0];
    expect(comparedSteps(c)).toBe(23);
    const data = loadMnist();
    const ok = await runTrajectoryCase(file, c, data);
    expect(ok.passed).toBe(true);
    expect(ok.firstFailingStep).toBeNull();
    expect(ok.maxLossDiff).toBeLessThan(1e-5);
    expect(ok.losses).toHaveLength(30);
    const perturbed = { ...c, losses: c.losses.map((l, s) => (s === 7 ? l + 2e-4 : l)) };
    const bad = await runTrajectoryCase(file, perturbed, data);
    expect(bad.passed).toBe(false);
    expect(bad.firstFailingStep).toBe(7);
    expect(bad.maxLossDiff).toBeGreaterThan(1e-4);
    // A difference past the compared steps (beyond 80% of the horizon) does not count.
    const late = { ...c, losses: c.losses.map((l, s) => (s === 25 ? l + 1 : l)) };
    expect((await runTrajectoryCase(file, late, data)).passed).toBe(true);
  });

  it('checks the final kernels when the horizon is the whole run', async () => {
    const file = smallFile();
    const c = { ...file.cases[0], horizon: 30 };
    const data = loadMnist();
    const run = await runTrajectoryCase(file, { ...c, final: undefined }, data);
    const final = Object.fromEntries(
      Object.entries(run.final).map(([k, v]) => [k, { ...v, levels: [] as number[] }]),
    );
    expect((await runTrajectoryCase(file, { ...c, final }, data)).passed).toBe(true);
    const off = structuredClone(final);
    off['fc2/kernel'].sum += 0.01 * Math.max(1, Math.abs(off['fc2/kernel'].sum));
    off['logits/kernel'].distinct += 1;
    const bad = await runTrajectoryCase(file, { ...c, final: off }, data);
    expect(bad.passed).toBe(false);
    expect(bad.finalFailures.join('; ')).toMatch(/fc2\/kernel sum .*logits\/kernel distinct/);
  });

  it('CLI: one line per case, then the tally; exit 1 when a case fails', () => {
    const file = smallFile();
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(file));
    const pass = parq(['conformance', '--backend', 'cpu', good]);
    expect(pass.code).toBe(0);
    expect(pass.out).toMatch(
      /parq-lsbq-2: ok, 23 steps, max loss difference \S+, first failing step none/,
    );
    expect(pass.out.trim().split('\n').pop()).toBe('1 passed, 0 failed');

    file.cases.push({
      ...file.cases[0],
      name: 'perturbed',
      losses: file.cases[0].losses.map((l, s) => (s === 3 ? l - 1e-3 : l)),
    });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(file));
    const fail = parq(['conformance', '--backend', 'cpu', '--json', bad]);
    expect(fail.code).toBe(1);
    const report = JSON.parse(fail.out);
    expect(report).toMatchObject({ passed: 1, failed: 1, backend: 'cpu' });
    expect(report.results[1]).toMatchObject({
      name: 'perturbed',
      passed: false,
      firstFailingStep: 3,
    });
  });

  it('CLI: a malformed file is one line naming the case and field, exit 2', () => {
    const file = smallFile();
    const path = join(dir, 'malformed.json');
    writeFileSync(path, JSON.stringify({ ...file, cases: [{ ...file.cases[0], steps: 1e12 }] }));
    const r = parq(['conformance', '--backend', 'cpu', path]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(
      /case 0 \('parq-lsbq-2'\) field 'steps': expected an integer in 1\.\.30, got 1000000000000/,
    );
  });
});

describe.runIf(existsSync(PUBLIC))('trajectory file validation', () => {
  const base = () => smallFile() as unknown as Record<string, any>;
  const cases: [string, (f: Record<string, any>) => void, RegExp][] = [
    ['a null case', (f) => (f.cases = [null]), /^case 0: expected an object, got null$/],
    ['no cases', (f) => (f.cases = []), /field 'cases': expected 1\.\.10000 entries, got 0/],
    ['steps 1e12', (f) => (f.cases[0].steps = 1e12), /case 0 \('parq-lsbq-2'\) field 'steps'/],
    ['a fractional horizon', (f) => (f.cases[0].horizon = 2.5), /field 'horizon'/],
    [
      'a short losses array',
      (f) => f.cases[0].losses.pop(),
      /field 'losses': expected 30 numbers, got 29/,
    ],
    [
      'a NaN-like loss',
      (f) => (f.cases[0].losses[4] = 'x'),
      /field 'losses\.4': expected a finite number/,
    ],
    [
      'an unknown method',
      (f) => (f.cases[0].method = 'adam'),
      /field 'method': expected one of ste, parq/,
    ],
    ['a bad granularity', (f) => (f.cases[0].granularity = 'block0'), /field 'granularity'/],
    [
      'an indivisible block',
      (f) => (f.cases[0].granularity = 'block5'),
      /fc1\/kernel has 784 weights per channel, not divisible by 5/,
    ],
    [
      'a batch index past the split',
      (f) => (f.batches[2][0] = 8004),
      /field 'batches\.2\.0': expected an integer in 0\.\.8003/,
    ],
    [
      'an init of the wrong shape',
      (f) => (f.init['fc2/kernel'].shape = [32, 31]),
      /field 'init\.fc2\/kernel\.shape': expected \[32, 32\]/,
    ],
    [
      'a missing final with a full horizon',
      (f) => (f.cases[0].horizon = 30),
      /field 'final': expected an object/,
    ],
    [
      'hidden sizes that are not integers',
      (f) => (f.model.hidden = [32, 'a']),
      /field 'model\.hidden\.1'/,
    ],
    [
      'a repeated case name',
      (f) => f.cases.push(f.cases[0]),
      /case 1 \('parq-lsbq-2'\) field 'name': repeats/,
    ],
    [
      'TernaryUnifQuantizer at 2 bits',
      (f) => (f.cases[0].quantizer = 'TernaryUnifQuantizer'),
      /field 'bits'/,
    ],
  ];
  for (const [what, edit, message] of cases) {
    it(`refuses ${what}`, () => {
      const f = base();
      edit(f);
      expect(() => checkTrajectoryFile(f)).toThrow(message);
    });
  }
});
