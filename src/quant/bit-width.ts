/**
 * The arithmetic of a QAT bit width, in one place: how many levels it allows, how wide one
 * level index is, and how many bytes n indices take packed (`bits` bits each, or ternary's
 * base-3 packing, five indices a byte). The exporters, the reader, `parq info`'s size estimate
 * and the quantizers all read it from here. Bits are 1..8, or 0 for ternary (three levels).
 * Browser-safe, no tfjs.
 */

/** Ternary indices (0, 1, 2) in one byte of base-3 packing: 3^5 = 243 <= 256. */
export const TRITS_PER_BYTE = 5;

/** How ternary indices are packed: base-3 (`trits`, the default) or 2 bits each (`bits`). */
export type TernaryPacking = 'trits' | 'bits';

/** Is this bit width ternary (bits 0: three levels)? */
export function isTernary(bits: number): boolean {
  return bits === 0;
}

/** Levels a QAT bit width allows: `2^bits`, or 3 for ternary (bits 0). */
export function maxLevels(bits: number): number {
  return isTernary(bits) ? 3 : 2 ** bits;
}

/** Bits one level index takes when packed as bits: `bits`, or 2 for ternary. */
export function indexBits(bits: number): number {
  return isTernary(bits) ? 2 : bits;
}

/** Bytes `n` indices take at `bits` bits each (an index may straddle two bytes). */
export function packedBitsLength(n: number, bits: number): number {
  return Math.ceil((n * bits) / 8);
}

/** Bytes `n` ternary indices take in base-3 packing, five to a byte. */
export function packedTritsLength(n: number): number {
  return Math.ceil(n / TRITS_PER_BYTE);
}

/**
 * Bytes the indices of `n` weights quantized at `bits` take: base-3 packed for ternary (unless
 * `ternaryPacking` is `bits`), else `bits` bits each.
 */
export function packedIndexBytes(
  n: number,
  bits: number,
  ternaryPacking: TernaryPacking = 'trits',
): number {
  return isTernary(bits) && ternaryPacking === 'trits'
    ? packedTritsLength(n)
    : packedBitsLength(n, indexBits(bits));
}
