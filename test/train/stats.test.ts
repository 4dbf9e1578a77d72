import { describe, expect, it } from 'vitest';
import { groupView } from '../../src/quant/grouping.js';
import {
  distinctCount,
  histogram,
  maxDistinctPerGroup,
  meanSd,
  snapshotEpochs,
} from '../../src/train/index.js';

describe('histogram', () => {
  it('counts every value once, edges included', () => {
    const h = histogram([0, 0.5, 1, 1, 0.25], 4);
    expect(h).toEqual({ lo: 0, hi: 1, counts: [1, 1, 1, 2] });
  });

  it('widens a zero-width range and skips values outside a given one', () => {
    expect(histogram([2, 2], 3).counts).toEqual([0, 2, 0]);
    expect(histogram([-5, 0.5, 9], 2, 0, 1).counts).toEqual([0, 1]);
  });
});

describe('distinct values per group', () => {
  it('reads groups from the [A, M, C] view (per output channel of a [in, out] kernel)', () => {
    // 3 x 2 kernel, channel 0 holds {1, 2}, channel 1 holds {5, 6, 7}.
    const w = [1, 5, 2, 6, 1, 7];
    expect(distinctCount(w)).toBe(5);
    expect(maxDistinctPerGroup(w, groupView([3, 2], { kind: 'channel' }))).toBe(3);
    expect(maxDistinctPerGroup(w, groupView([3, 2], { kind: 'tensor' }))).toBe(5);
  });

  it('distinctCount counts as a Set does: float32 (a table of their bits) or other numbers', () => {
    const few = Float32Array.from([0.5, -0, 0, NaN, 0.5, NaN, -1]);
    expect(distinctCount(few)).toBe(new Set(few).size); // 4: 0.5, 0, NaN, -1
    for (const n of [4096, 4097, 50_000]) {
      const many = new Float32Array(n + 6);
      for (let i = 0; i < n; i++) many[i] = Math.fround(Math.sin(i) * 1e3); // distinct, mostly
      many.set([NaN, -0, 0, NaN, many[7], -many[3]], n);
      expect(distinctCount(many)).toBe(new Set(many).size);
      const doubles = Array.from(many, (v, i) => v + (i % 2) * 1e-12); // not float32
      expect(distinctCount(doubles)).toBe(new Set(doubles).size);
    }
  });
});

describe('meanSd and snapshotEpochs', () => {
  it('uses the population standard deviation', () => {
    expect(meanSd([1, 3])).toEqual({ mean: 2, sd: 1 });
  });

  it('takes about six snapshots, always the first and the last epoch', () => {
    expect(snapshotEpochs(3)).toEqual([0, 1, 2, 3]);
    expect(snapshotEpochs(20)).toEqual([0, 4, 8, 12, 16, 20]);
    expect(snapshotEpochs(7)).toEqual([0, 1, 3, 4, 6, 7]);
  });
});
