/**
 * Writing the packed low-bit file (format.ts, docs/format.md): `exportQuantized` reads a
 * model (and its QuantOptimizer) and returns the file's bytes. Browser-safe; to write them to
 * disk in Node use `writeQuantizedFile` (a temporary file renamed into place).
 */
import * as tf from '@tensorflow/tfjs';
import { packBits, packTrits } from './bitpack.js';
import { indexBits, isTernary } from '../quant/bit-width.js';
import { CollectedTensor, collectTensors, CollectOptions, type QuantizedState } from './collect.js';
import { crc32 } from './crc32.js';
import { deflate } from './deflate.js';
import { encodeFloat16, FLOAT16_MAX } from './float16.js';
import {
  FLAG_HEAD_DEFLATE,
  FORMAT_MAJOR,
  FORMAT_MINOR,
  FORMAT_NAME,
  MAGIC,
  PackedHeader,
  Packing,
  PREAMBLE_FIXED,
  PRODUCER,
  SECTION_ENTRY,
  SECTION_TAGS,
  TensorEntry,
} from './format.js';

export interface ExportOptions extends CollectOptions {
  /** How float (unquantized) tensors are stored. Default 'float32' (exact). */
  floatDtype?: 'float32' | 'float16';
  /** Ternary indices: 'trits' (5 a byte, 1.6 bits each, default) or 'bits' (2 bits each). */
  ternaryPacking?: Packing;
  /** Deflate the JSON header (where the platform has CompressionStream). Default true. */
  compressHeader?: boolean;
  /** Free-form JSON stored in the header (training config, accuracy, ...). */
  metadata?: Record<string, unknown>;
}

/**
 * Exports `model` as a packed low-bit file: its topology, then each quantized weight as
 * level indices at exactly `bits` bits (ternary: base-3, five a byte) plus its float32 level
 * sets, then the other weights as floats, each section checksummed.
 *
 * Levels and bits come from `optimizer` (the QuantOptimizer or ADMMQOptimizer that trained the model) when
 * given; otherwise pass `options.bits` and they are recovered from the distinct values of
 * each Dense/Conv kernel (or of the tensors `bits` names). Every quantized weight must sit
 * exactly on one of its group's levels. `loadQuantized` gives back the same weights bit for
 * bit (float tensors too, unless `floatDtype: 'float16'`). Reads the weights asynchronously
 * and changes nothing; throws, naming the tensor, when the model is not exportable.
 */
export async function exportQuantized(
  model: tf.LayersModel,
  optimizer?: QuantizedState,
  options: ExportOptions = {},
): Promise<Uint8Array> {
  checkExportOptions(options);
  const tensors = await collectTensors(model, optimizer, options);
  const topology = model.toJSON(null, false) as unknown as Record<string, unknown>;
  return encodePacked(topology, tensors, options);
}

function checkExportOptions(options: ExportOptions): void {
  const { floatDtype, ternaryPacking } = options;
  if (floatDtype !== undefined && floatDtype !== 'float32' && floatDtype !== 'float16') {
    throw new Error(`export: floatDtype must be 'float32' or 'float16', got '${floatDtype}'`);
  }
  if (ternaryPacking !== undefined && ternaryPacking !== 'trits' && ternaryPacking !== 'bits') {
    throw new Error(`export: ternaryPacking must be 'trits' or 'bits', got '${ternaryPacking}'`);
  }
}

/** Assembles a packed file from a topology and collected tensors (see `exportQuantized`). */
export async function encodePacked(
  modelTopology: Record<string, unknown>,
  tensors: CollectedTensor[],
  options: ExportOptions = {},
): Promise<Uint8Array> {
  checkExportOptions(options);
  const floatDtype = options.floatDtype ?? 'float32';
  const entries: TensorEntry[] = [];
  const levels: Uint8Array[] = [];
  const indices: Uint8Array[] = [];
  const floats: Uint8Array[] = [];
  for (const t of tensors) {
    if (t.kind === 'quantized') {
      const packing: Packing = isTernary(t.bits) ? (options.ternaryPacking ?? 'trits') : 'bits';
      entries.push({
        name: t.name,
        shape: t.shape,
        dtype: 'float32',
        encoding: 'levels',
        bits: t.bits,
        packing,
        granularity: t.granularity,
        view: t.view,
        levels: t.k,
      });
      levels.push(float32Bytes(t.levels));
      indices.push(
        packing === 'trits' ? packTrits(t.indices) : packBits(t.indices, indexBits(t.bits)),
      );
    } else {
      entries.push({ name: t.name, shape: t.shape, dtype: 'float32', encoding: floatDtype });
      if (floatDtype === 'float16') {
        const big = t.values.findIndex((v) => Math.abs(v) > FLOAT16_MAX && Number.isFinite(v));
        if (big >= 0) {
          throw new Error(
            `export: tensor '${t.name}' holds ${t.values[big]}, beyond float16's range (65504): ` +
              `export with floatDtype 'float32'`,
          );
        }
        floats.push(encodeFloat16(t.values));
      } else {
        floats.push(float32Bytes(t.values));
      }
    }
  }
  const header: PackedHeader = {
    format: FORMAT_NAME,
    producer: PRODUCER,
    modelTopology,
    tensors: entries,
  };
  if (options.metadata !== undefined) header.metadata = options.metadata;
  let json: string;
  try {
    json = JSON.stringify(header);
  } catch (e) {
    throw new Error(`export: metadata is not JSON-serializable (${(e as Error).message})`, {
      cause: e,
    });
  }
  let head: Uint8Array = new TextEncoder().encode(json);
  let flags = 0;
  if (options.compressHeader ?? true) {
    const deflated = await deflate(head);
    if (deflated) {
      head = deflated;
      flags |= FLAG_HEAD_DEFLATE;
    }
  }
  const sections = [head, concat(levels), concat(indices), concat(floats)];
  return assemble(flags, sections);
}

function assemble(flags: number, sections: Uint8Array[]): Uint8Array {
  const preamble = PREAMBLE_FIXED + SECTION_ENTRY * sections.length + 4;
  const total = preamble + sections.reduce((a, s) => a + s.length, 0);
  if (sections.some((s) => s.length > 0xffffffff)) {
    throw new Error('export: a section exceeds 4 GiB, more than this format version holds');
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint16(8, FORMAT_MAJOR, true);
  view.setUint16(10, FORMAT_MINOR, true);
  view.setUint16(12, flags, true);
  view.setUint16(14, sections.length, true);
  let at = preamble;
  sections.forEach((s, i) => {
    const entry = PREAMBLE_FIXED + SECTION_ENTRY * i;
    for (let c = 0; c < 4; c++) out[entry + c] = SECTION_TAGS[i].charCodeAt(c);
    view.setUint32(entry + 4, s.length, true);
    view.setUint32(entry + 8, crc32(s), true);
    out.set(s, at);
    at += s.length;
  });
  view.setUint32(preamble - 4, crc32(out.subarray(0, preamble - 4)), true);
  return out;
}

/** Little-endian float32 bytes. */
function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
