/**
 * torchao's quantized layout in safetensors (torchao.prototype.safetensors): a quantized weight
 * `<module>.weight` is stored flattened as `<module>._weight_qdata`, `<module>._weight_scale` and
 * `<module>._weight_zero_point`, and the file's `__metadata__` holds `tensor_names` (a JSON list)
 * and, per name, a JSON object whose `_type` names the tensor subclass and `_data` its attributes.
 *
 * Two subclasses are read, for Linear weights `[n, k]` in blocks `block_size = [1, bs]`:
 * - `IntxUnpackedToInt8Tensor`: `qdata` int8 `[n, k]` in the signed range of `target_dtype`
 *   (`intB`), `scale` and `zero_point` `[n, k / bs]`; `w = (qdata - zero_point) * scale`.
 *   torchao's Stretched quantizer stores this with the float zero point -1/2.
 * - `Int4Tensor` (fbgemm's int4): `qdata` `[n, k / 2]` bytes, two signed nibbles each (column
 *   `2j` in the low nibble, `2j + 1` in the high), `scale` and `zero_point` transposed,
 *   `[k / bs, n]`; `w = q * scale + zero_point`.
 * Each block then holds at most 2^B distinct values: its levels. Values are float32, computed as
 * torch does in float32.
 */
import type { SafetensorsFile } from './safetensors.js';

/** A torchao weight, dequantized to float32 in PyTorch's layout `[n, k]`. */
export interface TorchaoWeight {
  /** The PyTorch key it stands for, e.g. `fc1.weight`. */
  torchName: string;
  type: 'IntxUnpackedToInt8Tensor' | 'Int4Tensor';
  shape: [number, number];
  values: Float32Array;
  bits: number;
  /** Weights per block along the input (k) axis. */
  blockSize: number;
  /** The three stored tensors it was read from. */
  parts: string[];
}

export const TORCHAO_TYPES = ['IntxUnpackedToInt8Tensor', 'Int4Tensor'] as const;

const fail = (message: string): never => {
  throw new Error(`import: ${message}`);
};

/** True when the file's metadata says torchao wrote it (`tensor_names` present). */
export function isTorchaoFile(file: SafetensorsFile): boolean {
  return typeof file.metadata.tensor_names === 'string';
}

function parseJson(text: string | undefined, what: string): unknown {
  if (text === undefined) return fail(`torchao metadata has no entry for '${what}'`);
  try {
    return JSON.parse(text);
  } catch {
    return fail(`torchao metadata for '${what}' is not valid JSON`);
  }
}

/** The quantized weights of a torchao file; plain tensors are left to the caller. */
export function readTorchaoWeights(file: SafetensorsFile): TorchaoWeight[] {
  const names = parseJson(file.metadata.tensor_names, 'tensor_names');
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    fail('torchao metadata tensor_names is not a list of names');
  }
  const out: TorchaoWeight[] = [];
  for (const name of names as string[]) {
    const meta = parseJson(file.metadata[name], name) as Record<string, unknown> | null;
    const type = meta && typeof meta === 'object' ? meta._type : undefined;
    if (type === 'Tensor' || type === 'torch.Tensor') continue;
    if (!(TORCHAO_TYPES as readonly unknown[]).includes(type)) {
      fail(
        `'${name}' is a torchao ${String(type)}; supported: ${TORCHAO_TYPES.join(', ')} (and plain tensors)`,
      );
    }
    const dot = name.lastIndexOf('.');
    const prefix = `${name.slice(0, dot)}._${name.slice(dot + 1)}_`;
    const parts = ['qdata', 'scale', 'zero_point'].map((p) => prefix + p);
    for (const p of parts)
      if (!file.entry(p)) fail(`torchao weight '${name}' has no tensor '${p}'`);
    const data = (meta as { _data?: Record<string, unknown> })._data ?? {};
    const block = data.block_size;
    if (
      !Array.isArray(block) ||
      block.length !== 2 ||
      block[0] !== 1 ||
      !Number.isInteger(block[1])
    ) {
      fail(`torchao weight '${name}': block_size ${JSON.stringify(block)} is not [1, bs]`);
    }
    const bs = (block as number[])[1];
    out.push(
      type === 'Int4Tensor'
        ? readInt4(file, name, parts, bs)
        : readIntx(file, name, parts, bs, data.target_dtype),
    );
  }
  return out;
}

function dims2(file: SafetensorsFile, part: string): [number, number] {
  const shape = file.entry(part)?.shape ?? [];
  if (shape.length !== 2) fail(`torchao tensor '${part}' has shape [${shape.join(', ')}], not 2-D`);
  return shape as [number, number];
}

function checkParams(name: string, part: string, got: [number, number], want: [number, number]) {
  if (got[0] !== want[0] || got[1] !== want[1]) {
    fail(
      `torchao weight '${name}': '${part}' has shape [${got.join(', ')}], expected [${want.join(', ')}]`,
    );
  }
}

function readIntx(
  file: SafetensorsFile,
  name: string,
  [qPart, sPart, zPart]: string[],
  bs: number,
  targetDtype: unknown,
): TorchaoWeight {
  const dt = (targetDtype as { _data?: unknown } | undefined)?._data;
  const bits = typeof dt === 'string' && /^int[1-8]$/.test(dt) ? Number(dt.slice(3)) : NaN;
  if (!Number.isInteger(bits)) {
    fail(`torchao weight '${name}': target_dtype ${JSON.stringify(targetDtype)} is not int1..int8`);
  }
  if (file.entry(qPart)?.dtype !== 'I8') fail(`torchao tensor '${qPart}' is not int8`);
  const [n, k] = dims2(file, qPart);
  if (k % bs !== 0) fail(`torchao weight '${name}': ${k} inputs are not divisible by block ${bs}`);
  const nb = k / bs;
  checkParams(name, sPart, dims2(file, sPart), [n, nb]);
  checkParams(name, zPart, dims2(file, zPart), [n, nb]);
  const q = file.numbers(qPart);
  const s = file.float32(sPart);
  const z = file.float32(zPart);
  const lo = -(2 ** (bits - 1));
  const hi = 2 ** (bits - 1) - 1;
  const values = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const v = q[r * k + c];
      if (v < lo || v > hi) {
        fail(
          `torchao weight '${name}': qdata ${v} at [${r}, ${c}] is outside int${bits} [${lo}, ${hi}]`,
        );
      }
      const b = r * nb + Math.floor(c / bs);
      values[r * k + c] = Math.fround(Math.fround(v - z[b]) * s[b]);
    }
  }
  return {
    torchName: name,
    type: 'IntxUnpackedToInt8Tensor',
    shape: [n, k],
    values,
    bits,
    blockSize: bs,
    parts: [qPart, sPart, zPart],
  };
}

function readInt4(
  file: SafetensorsFile,
  name: string,
  [qPart, sPart, zPart]: string[],
  bs: number,
): TorchaoWeight {
  const qDtype = file.entry(qPart)?.dtype;
  if (qDtype !== 'I8' && qDtype !== 'U8') fail(`torchao tensor '${qPart}' is not int8 / uint8`);
  const [n, half] = dims2(file, qPart);
  const k = half * 2;
  if (k % bs !== 0) fail(`torchao weight '${name}': ${k} inputs are not divisible by block ${bs}`);
  const nb = k / bs;
  checkParams(name, sPart, dims2(file, sPart), [nb, n]);
  checkParams(name, zPart, dims2(file, zPart), [nb, n]);
  const packed = file.numbers(qPart);
  const s = file.float32(sPart);
  const z = file.float32(zPart);
  const values = new Float32Array(n * k);
  const nibble = (x: number) => (x >= 8 ? x - 16 : x);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < half; j++) {
      const byte = packed[r * half + j] & 0xff;
      for (const [c, v] of [
        [2 * j, nibble(byte & 0xf)],
        [2 * j + 1, nibble(byte >>> 4)],
      ]) {
        const b = Math.floor(c / bs) * n + r;
        values[r * k + c] = Math.fround(Math.fround(v * s[b]) + z[b]);
      }
    }
  }
  return {
    torchName: name,
    type: 'Int4Tensor',
    shape: [n, k],
    values,
    bits: 4,
    blockSize: bs,
    parts: [qPart, sPart, zPart],
  };
}
