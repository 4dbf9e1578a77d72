/// <reference types="node" />
// `parq train` through the real binary: outputs, determinism, exact resume.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parq, readJson, stableMetrics, tinyCsvFixture } from './helpers.js';

const fixture = tinyCsvFixture('parq-cli-train-');
const tiny = fixture.tiny;
beforeAll(fixture.setup);
afterAll(fixture.cleanup);

describe('parq train', () => {
  it('trains, prints a summary and writes metrics.json, report.html and a checkpoint', () => {
    const out = join(fixture.dir, 'run');
    const r = parq([
      'train',
      ...tiny().filter((a) => a !== '--quiet'),
      '--epochs',
      '3',
      '--out',
      out,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/final test accuracy: \d+\.\d\d%/);
    expect(r.stdout).toMatch(
      /levels per group \(at most 4 for 2-bit\): fc1\/kernel [1-4], logits\/kernel [1-4] \(ok\)/,
    );
    const m = readJson(join(out, 'metrics.json'));
    expect(m.status).toBe('complete');
    expect(m.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2, 3]);
    expect(m.stepsPerEpoch).toBe(12);
    expect(m.config).toMatchObject({
      method: 'parq',
      quantizer: 'lsbq',
      bits: 2,
      epochs: 3,
      hidden: [16],
    });
    expect(m.backend).toBe('wasm');
    expect(m.final.testAccuracy).toBeGreaterThan(0.6);
    expect(m.quantized.map((q: { name: string }) => q.name)).toEqual([
      'fc1/kernel',
      'logits/kernel',
    ]);
    for (const q of m.quantized) expect(q.maxDistinctPerGroup).toBeLessThanOrEqual(4);
    expect(m.histograms.map((h: { epoch: number }) => h.epoch)).toEqual([0, 1, 2, 3]);
    expect(m.schedule.name).toBe('inverse slope');
    expect(m.timing.wallSeconds).toBeGreaterThan(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src="http/);
    for (const f of ['model.json', 'weights.bin', 'optimizer.bin', 'state.json']) {
      expect(existsSync(join(out, 'checkpoint', f))).toBe(true);
    }
    expect(readJson(join(out, 'checkpoint', 'state.json'))).toMatchObject({
      format: 'parq-checkpoint/1',
      epoch: 3,
    });
  });

  it('gives identical metrics and weights for the same seed twice, and others for another seed', () => {
    const run = (name: string, seed: string) => {
      const out = join(fixture.dir, name);
      expect(parq(['train', ...tiny(), '--epochs', '2', '--seed', seed, '--out', out]).code).toBe(
        0,
      );
      return {
        metrics: stableMetrics(join(out, 'metrics.json')) as any,
        weights: readFileSync(join(out, 'checkpoint', 'weights.bin')),
      };
    };
    const a = run('same-a', '7');
    const b = run('same-b', '7');
    const c = run('other', '8');
    expect(b.metrics).toEqual(a.metrics);
    expect(Buffer.compare(a.weights, b.weights)).toBe(0);
    expect(Buffer.compare(a.weights, c.weights)).not.toBe(0);
    expect(c.metrics.epochs[1].loss).not.toBe(a.metrics.epochs[1].loss);
  });

  it('--hidden 64,64 builds two hidden Dense layers of 64 (repeats are layers, not duplicates)', () => {
    const out = join(fixture.dir, 'hidden-64-64');
    const args = tiny();
    args[args.indexOf('--hidden') + 1] = '64,64';
    const r = parq(['train', ...args, '--epochs', '1', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readJson(join(out, 'metrics.json')).config.hidden).toEqual([64, 64]);
    const topology = readJson(join(out, 'checkpoint', 'model.json')).modelTopology;
    const dense = (topology.config.layers as { class_name: string; config: any }[])
      .filter((l) => l.class_name === 'Dense')
      .map((l) => [l.config.name, l.config.units]);
    expect(dense).toEqual([
      ['fc1', 64],
      ['fc2', 64],
      ['logits', 3],
    ]);
  });
});
