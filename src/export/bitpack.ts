/**
 * Packing level indices into bytes.
 *
 * - `packBits(indices, bits)`: each index takes exactly `bits` (1..8) bits. Index i occupies
 *   bits `[i * bits, (i + 1) * bits)` of the stream, where stream bit j is bit `j % 8` (least
 *   significant first) of byte `floor(j / 8)`; an index may straddle two bytes. The last
 *   byte's unused high bits are zero. Takes `ceil(n * bits / 8)` bytes.
 * - `packTrits(indices)`: base-3 packing of ternary indices (0, 1, 2), five to a byte:
 *   `t0 + 3 t1 + 9 t2 + 27 t3 + 81 t4` (byte values 0..242); the last byte's missing trits
 *   are zero. Takes `ceil(n / 5)` bytes: 1.6 bits an index instead of 2.
 */

import { packedBitsLength, packedTritsLength, TRITS_PER_BYTE } from '../quant/bit-width.js';

export { packedBitsLength, packedTritsLength };

function checkWidth(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) {
    throw new RangeError(`bit width must be an integer in 1..8, got ${bits}`);
  }
}

/** Packs `indices` (each < 2^bits) at `bits` bits each; throws on an index that does not fit. */
export function packBits(indices: Uint8Array, bits: number): Uint8Array {
  checkWidth(bits);
  const n = indices.length;
  const out = new Uint8Array(packedBitsLength(n, bits));
  const limit = 1 << bits;
  if (bits === 8) {
    out.set(indices);
    return out;
  }
  if (8 % bits === 0) {
    // 1, 2 or 4 bits: indices never straddle a byte.
    for (let b = 0, i = 0; i < n; b++) {
      let v = 0;
      for (let shift = 0; shift < 8 && i < n; shift += bits, i++) {
        const x = indices[i];
        if (x >= limit) throw new RangeError(`index ${x} at ${i} does not fit in ${bits} bits`);
        v |= x << shift;
      }
      out[b] = v;
    }
    return out;
  }
  let bit = 0;
  for (let i = 0; i < n; i++, bit += bits) {
    const v = indices[i];
    if (v >= limit) throw new RangeError(`index ${v} at ${i} does not fit in ${bits} bits`);
    const byte = bit >>> 3;
    const shift = bit & 7;
    const word = v << shift;
    out[byte] |= word & 0xff;
    if (shift + bits > 8) out[byte + 1] |= word >>> 8;
  }
  return out;
}

/** Unpacks `n` indices of `bits` bits each from `bytes` (which must hold at least that many). */
export function unpackBits(bytes: Uint8Array, n: number, bits: number): Uint8Array {
  checkWidth(bits);
  if (bytes.length < packedBitsLength(n, bits)) {
    throw new RangeError(`${bytes.length} bytes cannot hold ${n} indices of ${bits} bits`);
  }
  const out = new Uint8Array(n);
  if (bits === 8) {
    out.set(bytes.subarray(0, n));
    return out;
  }
  const mask = (1 << bits) - 1;
  if (8 % bits === 0) {
    for (let b = 0, i = 0; i < n; b++) {
      let v = bytes[b];
      for (let shift = 0; shift < 8 && i < n; shift += bits, i++, v >>>= bits) out[i] = v & mask;
    }
    return out;
  }
  let bit = 0;
  for (let i = 0; i < n; i++, bit += bits) {
    const byte = bit >>> 3;
    const shift = bit & 7;
    let word = bytes[byte] >>> shift;
    if (shift + bits > 8) word |= bytes[byte + 1] << (8 - shift);
    out[i] = word & mask;
  }
  return out;
}

/** Packs ternary indices (each 0, 1 or 2) five to a byte; throws on an index above 2. */
export function packTrits(indices: Uint8Array): Uint8Array {
  const n = indices.length;
  const out = new Uint8Array(packedTritsLength(n));
  for (let b = 0, i = 0; i < n; b++) {
    let v = 0;
    let mul = 1;
    for (let t = 0; t < TRITS_PER_BYTE && i < n; t++, i++, mul *= 3) {
      const x = indices[i];
      if (x > 2) throw new RangeError(`index ${x} at ${i} is not a ternary index (0, 1, 2)`);
      v += x * mul;
    }
    out[b] = v;
  }
  return out;
}

/** Byte values that hold five trits: 0..242. */
const TRIT_CODES = 3 ** TRITS_PER_BYTE;

/** The five trits of each byte value 0..242, least significant first. */
const TRITS: Uint8Array = (() => {
  const t = new Uint8Array(TRIT_CODES * TRITS_PER_BYTE);
  for (let v = 0; v < TRIT_CODES; v++) {
    let r = v;
    for (let k = 0; k < TRITS_PER_BYTE; k++, r = (r / 3) | 0) t[v * TRITS_PER_BYTE + k] = r % 3;
  }
  return t;
})();

/** Unpacks `n` ternary indices; throws on a byte above 242 (not a base-3 group of five). */
export function unpackTrits(bytes: Uint8Array, n: number): Uint8Array {
  if (bytes.length < packedTritsLength(n)) {
    throw new RangeError(`${bytes.length} bytes cannot hold ${n} ternary indices`);
  }
  const out = new Uint8Array(n);
  for (let b = 0, i = 0; i < n; b++) {
    const v = bytes[b];
    if (v >= TRIT_CODES) throw new RangeError(`byte ${b} holds ${v}, not five trits (at most 242)`);
    const at = v * TRITS_PER_BYTE;
    if (i + TRITS_PER_BYTE <= n) {
      out[i] = TRITS[at];
      out[i + 1] = TRITS[at + 1];
      out[i + 2] = TRITS[at + 2];
      out[i + 3] = TRITS[at + 3];
      out[i + 4] = TRITS[at + 4];
      i += TRITS_PER_BYTE;
    } else {
      for (let t = 0; i < n; t++, i++) out[i] = TRITS[at + t];
    }
  }
  return out;
}

/**
 * Unpacks `n` indices (`width` bits each, or `'trits'`) straight to their values in one group of
 * `levels`, writing `out[i] = levels[index[i]]` in one pass through a per-byte table. Returns
 * the position of the first index not below `levels.length` (its value is left NaN), or -1.
 * Widths that straddle bytes (3, 5, 6, 7) go through `unpackBits`.
 */
export function unpackToLevels(
  bytes: Uint8Array,
  n: number,
  width: number | 'trits',
  levels: Float32Array,
  out: Float32Array,
): number {
  const k = levels.length;
  if (width !== 'trits' && 8 % width !== 0) {
    const idx = unpackBits(bytes, n, width);
    let bad = -1;
    for (let i = 0; i < n; i++) {
      const j = idx[i];
      if (j < k) out[i] = levels[j];
      else {
        out[i] = NaN;
        if (bad < 0) bad = i;
      }
    }
    return bad;
  }
  const trits = width === 'trits';
  const per = trits ? TRITS_PER_BYTE : 8 / width;
  const codes = trits ? TRIT_CODES : 256;
  const need = trits ? packedTritsLength(n) : packedBitsLength(n, width);
  if (bytes.length < need) throw new RangeError(`${bytes.length} bytes cannot hold ${n} indices`);
  const mask = trits ? 0 : (1 << width) - 1;
  const table = new Float32Array(codes * per);
  const firstBad = new Int8Array(codes).fill(-1);
  for (let v = 0; v < codes; v++) {
    for (let t = 0; t < per; t++) {
      const j = trits ? TRITS[v * TRITS_PER_BYTE + t] : (v >>> (t * width)) & mask;
      if (j < k) table[v * per + t] = levels[j];
      else {
        table[v * per + t] = NaN;
        if (firstBad[v] < 0) firstBad[v] = t;
      }
    }
  }
  let bad = -1;
  for (let b = 0, i = 0; i < n; b++) {
    const v = bytes[b];
    if (v >= codes) throw new RangeError(`byte ${b} holds ${v}, not five trits (at most 242)`);
    const at = v * per;
    const m = Math.min(per, n - i);
    for (let t = 0; t < m; t++, i++) out[i] = table[at + t];
    const fb = firstBad[v];
    if (fb >= 0 && fb < m && bad < 0) bad = i - m + fb;
  }
  return bad;
}
