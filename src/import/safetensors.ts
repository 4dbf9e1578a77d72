/**
 * A safetensors reader (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length `N`, `N` bytes of JSON, then the raw tensor bytes. The JSON maps each tensor's
 * name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets into the bytes after the
 * header), plus an optional `__metadata__` object of strings.
 *
 * `parseSafetensors` checks everything before it hands out any tensor: the header length against
 * the file size, the JSON, every dtype, shape and offset range (inside the data, the size its shape
 * and dtype need, no overlap, no hole), and throws a {@link SafetensorsError} with a one-line
 * message naming the first problem. It never reads past the end of the bytes. Browser-safe.
 */

/** The dtypes this reader accepts. */
export const SAFETENSORS_DTYPES = ['F32', 'F16', 'BF16', 'I8', 'U8', 'I16', 'I32', 'I64'] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  I8: 1,
  U8: 1,
  I16: 2,
  I32: 4,
  I64: 8,
};

/** Headers above this many bytes are refused (the reference implementation's limit is 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** A malformed or unsupported safetensors file; the message names the problem. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** One tensor's header entry. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range in the file (absolute, header included). */
  begin: number;
  end: number;
}

/** A checked safetensors file. */
export interface SafetensorsFile {
  /** Entries in header order. */
  readonly entries: readonly SafetensorsEntry[];
  /** `__metadata__`, string to string (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The entry named `name`, or undefined. */
  entry(name: string): SafetensorsEntry | undefined;
  /** The tensor's values as float32 (integers converted exactly up to 2^24; I64 must be safe integers). */
  float32(name: string): Float32Array;
  /** The tensor's values as JS numbers (I64 must fit in a safe integer). */
  numbers(name: string): Float64Array;
}

const fail = (message: string): never => {
  throw new SafetensorsError(`safetensors: ${message}`);
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkEntry(name: string, raw: unknown, dataLength: number): SafetensorsEntry {
  if (!isObject(raw)) fail(`tensor '${name}': header entry is not an object`);
  const e = raw as Record<string, unknown>;
  const dtype = e.dtype;
  if (typeof dtype !== 'string' || !(SAFETENSORS_DTYPES as readonly string[]).includes(dtype)) {
    fail(
      `tensor '${name}': unknown dtype ${JSON.stringify(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`,
    );
  }
  const shape = e.shape;
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  ) {
    fail(`tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  const offsets = e.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
  ) {
    fail(`tensor '${name}': data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    fail(
      `tensor '${name}': data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`,
    );
  }
  const dims = shape as number[];
  const n = dims.reduce((a, b) => a * b, 1);
  const need = n * ITEM_SIZE[dtype as SafetensorsDtype];
  if (!Number.isSafeInteger(need) || need !== end - begin) {
    fail(
      `tensor '${name}': shape [${dims.join(', ')}] of ${dtype} needs ${need} bytes, data_offsets give ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: [...dims], begin, end };
}

/** Checks and indexes a safetensors file held in `bytes`. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) fail('expected the file as bytes (Uint8Array)');
  if (bytes.length < 8) {
    fail(`truncated file: ${bytes.length} bytes, less than the 8-byte header length`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length64 = dv.getBigUint64(0, true);
  if (length64 > BigInt(bytes.length - 8)) {
    fail(
      `header length ${length64} exceeds the file's ${bytes.length - 8} bytes after the length field (truncated or not a safetensors file)`,
    );
  }
  const headerLength = Number(length64);
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`header length ${headerLength} is above the ${MAX_HEADER_BYTES}-byte limit`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`the header is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isObject(header)) fail('the header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isObject(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = checkEntry(name, raw, dataLength);
    entries.push({ ...e, begin: e.begin + dataStart, end: e.end + dataStart });
  }
  // The data must be covered exactly: no two tensors overlap, no byte belongs to none.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  for (const e of sorted) {
    if (e.begin < at) fail(`tensor '${e.name}' overlaps another tensor's bytes`);
    if (e.begin > at)
      fail(`data bytes [${at - dataStart}, ${e.begin - dataStart}) belong to no tensor`);
    at = e.end;
  }
  if (at !== bytes.length) {
    fail(`data bytes [${at - dataStart}, ${dataLength}) after the last tensor belong to no tensor`);
  }
  const byName = new Map(entries.map((e) => [e.name, e]));

  const read = (name: string): Float64Array => {
    const e = byName.get(name);
    if (!e) return fail(`no tensor '${name}'`);
    const size = ITEM_SIZE[e.dtype];
    const n = (e.end - e.begin) / size;
    const out = new Float64Array(n);
    for (let i = 0, p = e.begin; i < n; i++, p += size) out[i] = readValue(dv, p, e.dtype, name);
    return out;
  };
  return {
    entries,
    metadata,
    entry: (name) => byName.get(name),
    numbers: read,
    float32: (name) => Float32Array.from(read(name)),
  };
}

function readValue(dv: DataView, p: number, dtype: SafetensorsDtype, name: string): number {
  switch (dtype) {
    case 'F32':
      return dv.getFloat32(p, true);
    case 'F16':
      return halfToNumber(dv.getUint16(p, true));
    case 'BF16':
      return bf16ToNumber(dv.getUint16(p, true));
    case 'I8':
      return dv.getInt8(p);
    case 'U8':
      return dv.getUint8(p);
    case 'I16':
      return dv.getInt16(p, true);
    case 'I32':
      return dv.getInt32(p, true);
    case 'I64': {
      const v = dv.getBigInt64(p, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        fail(`tensor '${name}': I64 value ${v} does not fit in a JS number`);
      }
      return Number(v);
    }
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 is the top half of a float32. */
function bf16ToNumber(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** IEEE binary16 to a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
