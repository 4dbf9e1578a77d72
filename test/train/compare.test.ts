import { describe, expect, it } from 'vitest';
import {
  compareTable,
  expandCompare,
  resolveTrainConfig,
  summarizeCompare,
  type RunMetrics,
} from '../../src/train/index.js';

const base = resolveTrainConfig({ epochs: 2 });

/** Just what summarizeCompare reads of a run. */
function fakeRun(acc: number, seconds = 10): RunMetrics {
  return {
    final: { testAccuracy: acc, testLoss: 0.1 },
    epochs: [
      { epoch: 1, step: 1, loss: 1, accuracy: 0.5, lr: 0.1, testAccuracy: acc - 0.1 },
      { epoch: 2, step: 2, loss: 0.5, accuracy: 0.7, lr: 0, testAccuracy: acc },
    ],
    quantized: [{ maxDistinctPerGroup: 4, maxLevels: 4 }],
    timing: { wallSeconds: seconds },
    backend: 'wasm',
  } as unknown as RunMetrics;
}

describe('expandCompare', () => {
  it('runs every QAT method x quantizer x bits x seed, and fp once per seed', () => {
    const cases = expandCompare(base, {
      methods: ['fp', 'ste', 'parq'],
      quantizers: ['lsbq', 'unif'],
      bits: [1, 0],
      seeds: [5, 6, 7],
    });
    expect(cases).toHaveLength(3 + 2 * 2 * 2 * 3);
    expect(cases.slice(0, 4).map((c) => c.id)).toEqual([
      'fp-s5',
      'fp-s6',
      'fp-s7',
      'ste-lsbq-1b-s5',
    ]);
    expect(cases.map((c) => c.id)).toContain('parq-unif-ternary-s7');
    expect(new Set(cases.map((c) => c.group)).size).toBe(9);
    const one = cases.find((c) => c.id === 'parq-unif-ternary-s7');
    expect(one?.config).toMatchObject({
      method: 'parq',
      quantizer: 'unif',
      bits: 0,
      seed: 7,
      epochs: 2,
    });
    expect(one?.group).toBe('parq unif ternary');
  });
});

describe('summarizeCompare', () => {
  it('gives each configuration its mean and population sd over seeds, and a table', () => {
    const grid = {
      methods: ['fp' as const, 'parq' as const],
      quantizers: ['lsbq' as const],
      bits: [2],
      seeds: [0, 1],
    };
    const cases = expandCompare(base, grid);
    const s = summarizeCompare(base, grid, cases, [
      fakeRun(0.96),
      fakeRun(0.97),
      fakeRun(0.9),
      fakeRun(0.94, 30),
    ]);
    expect(s.rows.map((r) => r.group)).toEqual(['fp', 'parq lsbq 2-bit']);
    const [fp, parq] = s.rows;
    expect(fp.bits).toBeNull();
    expect(fp.quantizer).toBe('none');
    expect(fp.mean).toBeCloseTo(0.965, 12);
    expect(fp.sd).toBeCloseTo(0.005, 12);
    expect(parq.accuracies).toEqual([0.9, 0.94]);
    expect(parq.sd).toBeCloseTo(0.02, 12);
    expect(parq.curve[0]).toBeCloseTo(0.82, 12);
    expect(parq.seconds).toBe(20);
    expect(parq.runs).toEqual(['parq-lsbq-2b-s0', 'parq-lsbq-2b-s1']);
    expect(s.wallSeconds).toBe(60);
    const table = compareTable(s);
    expect(table).toContain('| fp | none | 32 (float) | 96.50 ± 0.50 | 2 | – | 10.0 s |');
    expect(table).toContain('| parq | lsbq | 2 | 92.00 ± 2.00 | 2 | yes | 20.0 s |');
  });
});
