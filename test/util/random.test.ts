import { describe, expect, it } from 'vitest';
import { mixSeed, mulberry32, permutation, shuffleInPlace } from '../../src/util/random.js';

/** The reference mulberry32 (Tommy Ettinger's public-domain code), to check against. */
function reference(a: number): () => number {
  return () => {
    let t = (a += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('mulberry32', () => {
  it('matches the reference generator', () => {
    for (const seed of [0, 1, 42, 0xdeadbeef]) {
      const ours = mulberry32(seed);
      const ref = reference(seed | 0);
      for (let k = 0; k < 1000; k++) expect(ours()).toBe(ref());
    }
  });

  it('is pinned: the first draws of seed 0 never change', () => {
    const rng = mulberry32(0);
    expect([rng(), rng(), rng()]).toEqual([
      0.26642920868471265, 0.0003297457005828619, 0.2232720274478197,
    ]);
  });

  it('draws in [0, 1) with a mean near 1/2', () => {
    const rng = mulberry32(7);
    let sum = 0;
    let outside = 0;
    for (let k = 0; k < 100_000; k++) {
      const u = rng();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.01);
  });
});

describe('mixSeed', () => {
  it('is deterministic and separates nearby inputs', () => {
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2));
    const seen = new Set<number>();
    for (let s = 0; s < 10; s++) for (let e = 0; e < 10; e++) seen.add(mixSeed(s, e));
    expect(seen.size).toBe(100);
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
  });
});

describe('permutation / shuffleInPlace', () => {
  it('gives a permutation, the same for the same seed', () => {
    const p = permutation(1000, mulberry32(3));
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, mulberry32(3))).toEqual(p);
    expect(permutation(1000, mulberry32(4))).not.toEqual(p);
  });

  it('shuffles a Float32Array in place', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5]);
    const out = shuffleInPlace(a, mulberry32(1));
    expect(out).toBe(a);
    expect(Array.from(a).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
