import { describe, expect, it } from 'vitest';
import { parseSafetensors, SafetensorsError } from '../../src/import/safetensors.js';
import { f32Safetensors, rawSafetensors } from './safetensors-bytes.js';

const good = () =>
  f32Safetensors(
    {
      'fc1.weight': { shape: [2, 3], values: [1, 2, 3, 4, 5, 6] },
      'fc1.bias': { shape: [2], values: [-1, 0.5] },
    },
    { format: 'pt' },
  );

/** The one-line message a parse throws. */
function errorOf(bytes: Uint8Array): string {
  try {
    parseSafetensors(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('expected parseSafetensors to throw');
}

describe('parseSafetensors', () => {
  it('reads a well-formed file: entries, metadata, values', () => {
    const f = parseSafetensors(good());
    expect(f.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([
      ['fc1.weight', 'F32', [2, 3]],
      ['fc1.bias', 'F32', [2]],
    ]);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(Array.from(f.float32('fc1.weight'))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(f.float32('fc1.bias'))).toEqual([-1, 0.5]);
  });

  it('decodes every dtype it accepts', () => {
    const data = new Uint8Array(2 + 2 + 1 + 1 + 2 + 4 + 8);
    const dv = new DataView(data.buffer);
    dv.setUint16(0, 0x3c00 | 0x8000, true); // F16 -1
    dv.setUint16(2, 0x4049, true); // BF16 3.140625
    dv.setInt8(4, -7); // I8
    dv.setUint8(5, 200); // U8
    dv.setInt16(6, -300, true); // I16
    dv.setInt32(8, -70000, true); // I32
    dv.setBigInt64(12, -(2n ** 40n), true); // I64
    const entry = (dtype: string, at: number, n: number) => ({
      dtype,
      shape: [1],
      data_offsets: [at, at + n],
    });
    const header = JSON.stringify({
      a: entry('F16', 0, 2),
      b: entry('BF16', 2, 2),
      c: entry('I8', 4, 1),
      d: entry('U8', 5, 1),
      e: entry('I16', 6, 2),
      f: entry('I32', 8, 4),
      g: entry('I64', 12, 8),
    });
    const f = parseSafetensors(rawSafetensors(header, data));
    const v = (n: string) => f.numbers(n)[0];
    expect([v('a'), v('b'), v('c'), v('d'), v('e'), v('f'), v('g')]).toEqual([
      -1,
      3.140625,
      -7,
      200,
      -300,
      -70000,
      -(2 ** 40),
    ]);
  });

  it('refuses a truncated file', () => {
    expect(errorOf(new Uint8Array(5))).toBe(
      'safetensors: truncated file: 5 bytes, less than the 8-byte header length',
    );
    const bytes = good();
    expect(errorOf(bytes.subarray(0, bytes.length - 4))).toMatch(
      /tensor 'fc1.bias': data_offsets \[24, 32\] run past the end of the data \(28 bytes\)/,
    );
    expect(errorOf(bytes.subarray(0, 40))).toMatch(
      /^safetensors: header length \d+ exceeds the file's 32 bytes/,
    );
  });

  it('refuses a huge header length without reading it', () => {
    expect(errorOf(rawSafetensors('{}', new Uint8Array(0), 2n ** 60n))).toMatch(
      /^safetensors: header length 1152921504606846976 exceeds the file's 2 bytes/,
    );
  });

  it('refuses bad JSON, a non-object header, bad UTF-8 and bad metadata', () => {
    expect(errorOf(rawSafetensors('{"a": ', new Uint8Array(0)))).toMatch(
      /^safetensors: the header is not valid JSON \(/,
    );
    expect(errorOf(rawSafetensors('[1, 2]', new Uint8Array(0)))).toBe(
      'safetensors: the header is not a JSON object',
    );
    const bad = rawSafetensors('{"a":1}', new Uint8Array(0));
    bad[9] = 0xff;
    expect(errorOf(bad)).toBe('safetensors: the header is not valid UTF-8');
    expect(errorOf(rawSafetensors('{"__metadata__": {"x": 1}}', new Uint8Array(0)))).toBe(
      "safetensors: __metadata__ 'x' is not a string",
    );
  });

  it('refuses an unknown dtype, a bad shape and bad offsets', () => {
    const one = (entry: unknown, n = 4) =>
      errorOf(rawSafetensors(JSON.stringify({ w: entry }), new Uint8Array(n)));
    expect(one({ dtype: 'F64', shape: [1], data_offsets: [0, 4] })).toBe(
      'safetensors: tensor \'w\': unknown dtype "F64" (supported: F32, F16, BF16, I8, U8, I16, I32, I64)',
    );
    expect(one({ dtype: 'F32', shape: [2], data_offsets: [0, 4] })).toBe(
      "safetensors: tensor 'w': shape [2] of F32 needs 8 bytes, data_offsets give 4",
    );
    expect(one({ dtype: 'F32', shape: [-1], data_offsets: [0, 4] })).toBe(
      "safetensors: tensor 'w': shape [-1] is not a list of non-negative integers",
    );
    expect(one({ dtype: 'F32', shape: [1], data_offsets: [0, 8] })).toBe(
      "safetensors: tensor 'w': data_offsets [0, 8] run past the end of the data (4 bytes)",
    );
    expect(one({ dtype: 'F32', shape: [1], data_offsets: [4, 0] })).toBe(
      "safetensors: tensor 'w': data_offsets [4, 0] end before they begin",
    );
    expect(one({ dtype: 'F32', shape: [1], data_offsets: [0] })).toBe(
      "safetensors: tensor 'w': data_offsets [0] is not [begin, end]",
    );
    expect(one('x')).toBe("safetensors: tensor 'w': header entry is not an object");
  });

  it('refuses overlapping tensors, holes and trailing bytes', () => {
    const two = (a: number[], b: number[], n: number) =>
      errorOf(
        rawSafetensors(
          JSON.stringify({
            a: { dtype: 'U8', shape: [a[1] - a[0]], data_offsets: a },
            b: { dtype: 'U8', shape: [b[1] - b[0]], data_offsets: b },
          }),
          new Uint8Array(n),
        ),
      );
    expect(two([0, 4], [2, 6], 6)).toBe("safetensors: tensor 'b' overlaps another tensor's bytes");
    expect(two([0, 2], [4, 6], 6)).toBe('safetensors: data bytes [2, 4) belong to no tensor');
    expect(two([0, 2], [2, 4], 6)).toBe(
      'safetensors: data bytes [4, 6) after the last tensor belong to no tensor',
    );
  });

  it('names a missing tensor and an I64 beyond safe integers', () => {
    const f = parseSafetensors(good());
    expect(() => f.float32('fc2.weight')).toThrow("safetensors: no tensor 'fc2.weight'");
    const data = new Uint8Array(8);
    new DataView(data.buffer).setBigInt64(0, 2n ** 60n, true);
    const big = parseSafetensors(
      rawSafetensors(
        JSON.stringify({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }),
        data,
      ),
    );
    expect(() => big.numbers('n')).toThrow(
      "tensor 'n': I64 value 1152921504606846976 does not fit",
    );
  });
});
