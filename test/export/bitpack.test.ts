import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  packBits,
  packedBitsLength,
  packedTritsLength,
  packTrits,
  unpackBits,
  unpackToLevels,
  unpackTrits,
} from '../../src/export/bitpack.js';
import { crc32 } from '../../src/export/crc32.js';
import {
  decodeFloat16,
  encodeFloat16,
  fromFloat16Bits,
  toFloat16Bits,
} from '../../src/export/float16.js';
import { mulberry32 } from '../../src/util/random.js';

function randomIndices(n: number, limit: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng() * limit));
}

describe('packBits / unpackBits', () => {
  it('lays indices out least significant bit first, straddling bytes', () => {
    // 3 bits: 5 at bits 0-2, 3 at bits 3-5, 7 at bits 6-8: byte 0 = 0b11_011_101, byte 1 = 0b1
    expect(Array.from(packBits(Uint8Array.of(5, 3, 7), 3))).toEqual([0b11011101, 0b1]);
    expect(Array.from(packBits(Uint8Array.of(1, 0, 1, 1, 0, 0, 0, 1, 1), 1))).toEqual([
      0b10001101, 0b1,
    ]);
    expect(Array.from(packBits(Uint8Array.of(3, 0, 2, 1), 2))).toEqual([0b01100011]);
    expect(Array.from(packBits(Uint8Array.of(0xa, 0x5), 4))).toEqual([0x5a]);
  });

  it('round-trips every width at lengths that do not fill the last byte', () => {
    for (let bits = 1; bits <= 8; bits++) {
      for (const n of [0, 1, 7, 8, 9, 1001]) {
        const idx = randomIndices(n, 2 ** bits, bits * 1000 + n);
        const packed = packBits(idx, bits);
        expect(packed.length).toBe(packedBitsLength(n, bits));
        expect(packed.length).toBe(Math.ceil((n * bits) / 8));
        expect(unpackBits(packed, n, bits)).toEqual(idx);
      }
    }
  });

  it('refuses an index that does not fit and a bad width', () => {
    expect(() => packBits(Uint8Array.of(0, 4), 2)).toThrow('index 4 at 1 does not fit in 2 bits');
    expect(() => packBits(Uint8Array.of(8), 3)).toThrow('does not fit in 3 bits');
    expect(() => packBits(Uint8Array.of(0), 0)).toThrow('bit width must be an integer in 1..8');
    expect(() => unpackBits(new Uint8Array(1), 5, 2)).toThrow('1 bytes cannot hold 5 indices');
  });
});

describe('packTrits / unpackTrits', () => {
  it('packs five ternary indices a byte, first index least significant', () => {
    // 2 + 3*1 + 9*0 + 27*2 + 81*1 = 140; then 1 alone
    expect(Array.from(packTrits(Uint8Array.of(2, 1, 0, 2, 1, 1)))).toEqual([140, 1]);
    expect(Array.from(packTrits(Uint8Array.of(2, 2, 2, 2, 2)))).toEqual([242]);
  });

  it('round-trips and takes ceil(n / 5) bytes', () => {
    for (const n of [0, 1, 4, 5, 6, 12345]) {
      const idx = randomIndices(n, 3, n);
      const packed = packTrits(idx);
      expect(packed.length).toBe(packedTritsLength(n));
      expect(unpackTrits(packed, n)).toEqual(idx);
    }
  });

  it('refuses a non-ternary index and a byte above 242', () => {
    expect(() => packTrits(Uint8Array.of(0, 3))).toThrow('index 3 at 1 is not a ternary index');
    expect(() => unpackTrits(Uint8Array.of(1, 243), 10)).toThrow('byte 1 holds 243');
  });
});

describe('unpackToLevels', () => {
  it('equals unpacking then looking up the levels, for every width and ternary', () => {
    for (const width of [1, 2, 3, 4, 5, 8, 'trits'] as const) {
      const k = width === 'trits' ? 3 : 2 ** width;
      const levels = Float32Array.from({ length: k }, (_, j) => j * 0.25 - 1);
      for (const n of [1, 6, 7, 1003]) {
        const idx = randomIndices(n, k, n + k);
        const packed = width === 'trits' ? packTrits(idx) : packBits(idx, width);
        const out = new Float32Array(n);
        expect(unpackToLevels(packed, n, width, levels, out)).toBe(-1);
        expect(Array.from(out)).toEqual(Array.from(idx, (j) => levels[j]));
      }
    }
  });

  it('reports the first index beyond the levels, ignoring the padding of the last byte', () => {
    const levels = Float32Array.of(-1, 0, 1); // 3 levels at 2 bits: index 3 is out of range
    const out = new Float32Array(6);
    expect(unpackToLevels(packBits(Uint8Array.of(0, 1, 2, 0, 3, 3), 2), 6, 2, levels, out)).toBe(4);
    // 5 indices in 2 bytes; the unused high bits of byte 1 hold 3s
    expect(unpackToLevels(Uint8Array.of(0b10010000, 0b11111100), 5, 2, levels, out)).toBe(-1);
    expect(unpackToLevels(Uint8Array.of(0b10010000, 0b11111111), 5, 2, levels, out)).toBe(4);
    expect(() => unpackToLevels(Uint8Array.of(250), 5, 'trits', levels, out)).toThrow(
      'byte 0 holds 250',
    );
    expect(() => unpackToLevels(Uint8Array.of(1), 5, 2, levels, out)).toThrow(
      '1 bytes cannot hold 5',
    );
  });
});

describe('crc32', () => {
  it('matches the standard check values', () => {
    const ascii = (s: string) => new TextEncoder().encode(s);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('continues over pieces', () => {
    const bytes = randomIndices(1000, 256, 5);
    expect(crc32(bytes.subarray(300), crc32(bytes.subarray(0, 300)))).toBe(crc32(bytes));
  });

  it('equals the bit-at-a-time definition at every length and offset (8 bytes a step, tail)', () => {
    const bitwise = (b: Uint8Array) => {
      let c = 0xffffffff;
      for (const byte of b) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    const bytes = randomIndices(70_000, 256, 9);
    for (let offset = 0; offset < 9; offset++) {
      for (let n = 0; n <= 40; n++) {
        const piece = bytes.subarray(offset, offset + n);
        expect(crc32(piece)).toBe(bitwise(piece));
      }
    }
    expect(crc32(bytes.subarray(3))).toBe(bitwise(bytes.subarray(3)));
  });
});

describe('float16', () => {
  it('encodes known values, rounding to nearest even', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(65520)).toBe(0x7c00); // rounds up to Infinity
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(2 ** -25)).toBe(0x0000); // tie, to even (zero)
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie, to even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, to even (up)
    expect(toFloat16Bits(-0)).toBe(0x8000);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
    expect(fromFloat16Bits(0x3555)).toBeCloseTo(0.33325, 5);
  });

  it("decodes like tfjs's own float16 weight decoder", async () => {
    const rng = mulberry32(7);
    const values = Float32Array.from({ length: 2000 }, (_, i) =>
      i % 3 === 0 ? (rng() - 0.5) * 1e-5 : (rng() - 0.5) * 200,
    );
    const bytes = encodeFloat16(values);
    const ours = decodeFloat16(bytes, values.length);
    const spec = { name: 'w', shape: [values.length], dtype: 'float32' as const };
    const theirs = tf.io.decodeWeights(bytes.buffer as ArrayBuffer, [
      { ...spec, quantization: { dtype: 'float16' } },
    ]);
    expect(Array.from(ours)).toEqual(Array.from(theirs.w.dataSync()));
    // and every value is within half an ulp of float16
    values.forEach((v, i) =>
      expect(Math.abs(ours[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25),
    );
    theirs.w.dispose();
  });
});
