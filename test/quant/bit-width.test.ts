import { describe, expect, it } from 'vitest';
import {
  indexBits,
  isTernary,
  maxLevels,
  packedBitsLength,
  packedIndexBytes,
  packedTritsLength,
  TRITS_PER_BYTE,
} from '../../src/quant/bit-width.js';
import { packBits, packTrits } from '../../src/export/bitpack.js';
import { LSBQuantizer } from '../../src/quant/lsbq.js';

describe('bit-width arithmetic', () => {
  it('levels: 2^bits, ternary 3 (as greedy LSBQ counts them)', () => {
    expect([0, 1, 2, 3, 4, 8].map(maxLevels)).toEqual([3, 2, 4, 8, 16, 256]);
    const lsbq = new LSBQuantizer();
    for (const b of [0, 1, 2, 3, 4]) expect(lsbq.quantSize(b)).toBe(maxLevels(b));
    expect(isTernary(0)).toBe(true);
    expect(isTernary(2)).toBe(false);
  });

  it('index widths and bytes: ternary is 2 bits, or five trits a byte', () => {
    expect(indexBits(0)).toBe(2);
    expect(indexBits(3)).toBe(3);
    expect(TRITS_PER_BYTE).toBe(5);
    expect(packedBitsLength(10, 3)).toBe(4);
    expect(packedTritsLength(11)).toBe(3);
    expect(packedIndexBytes(11, 0)).toBe(3);
    expect(packedIndexBytes(11, 0, 'bits')).toBe(3);
    expect(packedIndexBytes(13, 0, 'bits')).toBe(4);
    expect(packedIndexBytes(13, 4)).toBe(7);
  });

  it('agrees with what the packers write', () => {
    for (const n of [1, 4, 5, 6, 17, 100]) {
      const idx = Uint8Array.from({ length: n }, (_, i) => i % 3);
      expect(packTrits(idx).length).toBe(packedIndexBytes(n, 0));
      expect(packBits(idx, indexBits(0)).length).toBe(packedIndexBytes(n, 0, 'bits'));
      for (const b of [1, 2, 3, 5, 8]) {
        const ib = Uint8Array.from({ length: n }, (_, i) => i % 2 ** b);
        expect(packBits(ib, b).length).toBe(packedIndexBytes(n, b));
      }
    }
  });
});
