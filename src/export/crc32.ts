/**
 * CRC-32 (IEEE 802.3, the zlib / PNG / gzip polynomial 0xEDB88320, reflected, initial value and
 * final xor 0xFFFFFFFF), table-driven, one byte at a time. `crc32('123456789') = 0xCBF43926`.
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 of `bytes`, as an unsigned 32-bit integer. Pass a previous result as `crc` to continue
 * a checksum over data given in pieces: `crc32(b, crc32(a)) === crc32(a ++ b)`.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
