/// <reference types="node" />
// `parq eval` and `parq info` on a checkpoint written by `parq train`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parq, readJson, writeCsv } from './helpers.js';

let dir: string;
let csv: string;
let run: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'parq-cli-inspect-'));
  csv = join(dir, 'table.csv');
  writeCsv(csv);
  run = join(dir, 'run');
  const r = parq([
    'train',
    '--data',
    `csv:${csv}`,
    '--hidden',
    '16',
    '--batch-size',
    '16',
    '--lr',
    '0.1',
    '--epochs',
    '3',
    '--bits',
    '1',
    '--quiet',
    '--out',
    run,
  ]);
  expect(r.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parq eval', () => {
  it("reproduces the run's final test accuracy from its checkpoint", () => {
    const metrics = readJson(join(run, 'metrics.json'));
    const r = parq(['eval', run, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      split: 'test',
      samples: metrics.dataset.testSamples,
      backend: 'wasm',
      levelsOk: true,
    });
    expect(out.accuracy).toBeCloseTo(metrics.final.testAccuracy, 10);
    expect(out.loss).toBeCloseTo(metrics.final.testLoss, 5);
    for (const q of out.quantized) expect(q.maxDistinctPerGroup).toBeLessThanOrEqual(2);
  });

  it('prints a readable line, also for the checkpoint folder itself and the train split', () => {
    const r = parq(['eval', join(run, 'checkpoint'), '--split', 'train']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/checkpoint .*checkpoint \(epoch 3 of 3\)/);
    expect(r.stdout).toMatch(/train split: accuracy \d+\.\d\d% \(\d+\/192\), loss \d\.\d{4}/);
    expect(r.stdout).toMatch(
      /levels per group \(at most 2\): fc1\/kernel [12], logits\/kernel [12] \(ok\)/,
    );
  });
});

describe('parq info', () => {
  it('describes architecture, quantized tensors, levels and size', () => {
    const r = parq(['info', run]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /run: parq lsbq 1-bit per tensor · mlp on csv:.* · complete · final test accuracy/,
    );
    expect(r.stdout).toMatch(/fc1\s+Dense\s+\[16\]\s+112/);
    expect(r.stdout).toMatch(/fc1\/kernel\s+\[6, 16\]\s+1\s+1\s+[12]\s+[12] of 2\s+-?\d/);
    expect(r.stdout).toMatch(/size: .* as float32; about .* with the quantized kernels packed/);
  });

  it('gives the same facts as JSON', () => {
    const info = JSON.parse(parq(['info', run, '--json']).stdout);
    expect(info.kind).toBe('checkpoint');
    expect(info.epoch).toBe(3);
    expect(info.config.bits).toBe(1);
    expect(info.model.params).toBe(6 * 16 + 16 + 16 * 3 + 3);
    expect(info.quantized.map((q: { name: string }) => q.name)).toEqual([
      'fc1/kernel',
      'logits/kernel',
    ]);
    expect(info.bytes.float32).toBe(4 * info.model.params);
    // 1 bit a weight + 2 float32 levels per kernel, biases float32.
    expect(info.bytes.packed).toBe(Math.ceil(96 / 8) + 8 + 16 * 4 + Math.ceil(48 / 8) + 8 + 3 * 4);
  });
});
