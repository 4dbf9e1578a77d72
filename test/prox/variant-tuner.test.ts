import { describe, expect, it } from 'vitest';
import {
  type Choice,
  VariantTuner,
  type VariantTunerOptions,
} from '../../src/prox/simd/variant-tuner.js';

/**
 * A tuner whose clock makes a call of choice c take `cost(c, n)` per item, n counting that
 * choice's calls from 1 (a pair [c0, c1]: constant costs).
 */
function tunerWithCosts(
  cost: [number, number] | ((choice: Choice, n: number) => number),
  opts: VariantTunerOptions = {},
) {
  const costOf = typeof cost === 'function' ? cost : (c: Choice) => cost[c];
  const calls = [0, 0];
  let t = 0;
  let pending: { choice: Choice; items: number } | null = null;
  const tuner = new VariantTuner({
    warm: 2,
    trials: 3,
    minItems: 100,
    ...opts,
    now: () => {
      if (pending) t += costOf(pending.choice, calls[pending.choice]) * pending.items;
      return t;
    },
  });
  const call = (items: number): Choice => {
    const choice = tuner.choose(items);
    calls[choice]++;
    const t0 = tuner.start(); // the call's beginning
    pending = { choice, items };
    tuner.record(choice, items, t0); // its end: the clock has moved by the call's cost
    pending = null;
    return choice;
  };
  return { tuner, call };
}

describe('VariantTuner', () => {
  it('alternates, skips the warm calls, then keeps the faster for good', () => {
    const { tuner, call } = tunerWithCosts([3, 1]);
    const seen: Choice[] = [];
    // 2 warm + 3 counted calls of each: decided after the tenth
    for (let i = 0; i < 10; i++) {
      expect(tuner.winner, `call ${i}`).toBeNull();
      seen.push(call(1000));
    }
    expect(seen).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(tuner.winner).toBe(1);
    for (let i = 0; i < 5; i++) expect(call(1000)).toBe(1);
    expect(call(5)).toBe(1); // small calls too, once decided
  });

  it('picks the baseline when it is the faster, and on a tie', () => {
    expect(
      (() => {
        const { tuner, call } = tunerWithCosts([1, 2]);
        for (let i = 0; i < 10; i++) call(500);
        return tuner.winner;
      })(),
    ).toBe(0);
    const { tuner, call } = tunerWithCosts([2, 2]);
    for (let i = 0; i < 10; i++) call(500);
    expect(tuner.winner).toBe(0);
  });

  it('does not time small calls: they go to the baseline while undecided', () => {
    const { tuner, call } = tunerWithCosts([3, 1]);
    for (let i = 0; i < 50; i++) expect(call(99)).toBe(0);
    expect(tuner.winner).toBeNull();
    expect(tuner.start()).toBeGreaterThanOrEqual(0);
  });

  it('compares time per item: calls of different sizes', () => {
    // choice 0 gets the big calls, choice 1 the small ones (the alternation), 1 cheaper per item
    const { tuner, call } = tunerWithCosts([2, 1.5]);
    for (let i = 0; i < 10; i++) call(i % 2 === 0 ? 10_000 : 200);
    expect(tuner.winner).toBe(1);
  });

  it('warm calls do not count: a slow start of the faster choice does not decide', () => {
    // choice 1 costs 100 per item in its two warm calls, then 1 (the baseline always 2)
    const slowStart = (c: Choice, n: number) => (c === 0 ? 2 : n <= 2 ? 100 : 1);
    const { tuner, call } = tunerWithCosts(slowStart, { minItems: 1 });
    for (let i = 0; i < 10; i++) call(10);
    expect(tuner.winner).toBe(1);
    // counted from the first call, the slow start would have decided for the baseline
    const counted = tunerWithCosts(slowStart, { minItems: 1, warm: 0, trials: 5 });
    for (let i = 0; i < 10; i++) counted.call(10);
    expect(counted.tuner.winner).toBe(0);
  });
});
