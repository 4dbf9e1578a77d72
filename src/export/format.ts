/**
 * The packed low-bit file format, version 1 (see docs/format.md): constants, the header's
 * types, and the error every reader failure throws.
 *
 * Layout (all integers little-endian):
 *
 *     preamble   magic (8) | major u16 | minor u16 | flags u16 | section count u16
 *                | per section: tag (4 ASCII) | byte length u32 | CRC-32 u32
 *                | CRC-32 of everything before it (u32)
 *     sections   HEAD, LVLS, IDXS, FLTS, back to back, in the table's order
 *
 * HEAD is the JSON header (deflate-compressed when flag bit 0 is set): the tfjs model
 * topology and the tensor table. LVLS holds every quantized tensor's levels as float32, IDXS
 * its level indices packed at `bits` bits each, FLTS the float tensors (float32 or float16).
 */
import type { Granularity } from '../quant/grouping.js';
import { maxLevels, type TernaryPacking } from '../quant/bit-width.js';

/** `\x89PQK\r\n\x1a\n`: a non-ASCII first byte and the line-ending bytes catch text-mode copies. */
export const MAGIC = Uint8Array.of(0x89, 0x50, 0x51, 0x4b, 0x0d, 0x0a, 0x1a, 0x0a);
/** This version writes 1.0; it reads any 1.x (a newer minor only adds what 1.0 readers may skip). */
export const FORMAT_MAJOR = 1;
export const FORMAT_MINOR = 0;
/** The `format` field of the JSON header. */
export const FORMAT_NAME = 'parq-packed';
/** Flag bit 0: the HEAD section is deflate-compressed (zlib format, RFC 1950). */
export const FLAG_HEAD_DEFLATE = 1;
/** Fixed part of the preamble: magic, major, minor, flags, section count. */
export const PREAMBLE_FIXED = 16;
/** Bytes one section takes in the preamble's table. */
export const SECTION_ENTRY = 12;

export const SECTION_TAGS = ['HEAD', 'LVLS', 'IDXS', 'FLTS'] as const;
export type SectionTag = (typeof SECTION_TAGS)[number];

/** How a quantized tensor's indices are packed: `bits` bits each, or 5 ternary indices a byte. */
export type Packing = TernaryPacking;

/** A quantized tensor in the header's tensor table. */
export interface QuantizedTensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  encoding: 'levels';
  /** QAT bits, 1..8, or 0 for ternary. */
  bits: number;
  packing: Packing;
  /** As the optimizer (or the exporter's options) grouped the tensor; informational. */
  granularity: Granularity;
  /** The group view `[A, M, C]` (see quant/grouping.ts): `A * C` groups of `M` weights. */
  view: [number, number, number];
  /** Levels per group, stored ascending as float32 in LVLS, `[A * C, levels]`, group a-major. */
  levels: number;
}

/** A float tensor in the header's tensor table. */
export interface FloatTensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  encoding: 'float32' | 'float16';
}

export type TensorEntry = QuantizedTensorEntry | FloatTensorEntry;

/** The JSON header (HEAD section). */
export interface PackedHeader {
  format: typeof FORMAT_NAME;
  /** Who wrote the file, e.g. `parq-ts 0.1.0`. */
  producer: string;
  /** The tfjs layers model topology (`model.toJSON(null, false)`). */
  modelTopology: Record<string, unknown>;
  /** Every weight of the model, in `model.weights` order, named by `originalName`. */
  tensors: TensorEntry[];
  /** Free-form JSON the exporter was given (training config, accuracy, ...). */
  metadata?: Record<string, unknown>;
}

/** The library's name and version as written into `producer`. */
export const PRODUCER = 'parq-ts 0.1.0';

/** A file that is not a valid packed file; the message names the problem. */
export class PackedFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackedFormatError';
  }
}

/** Number of values of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Levels a QAT bit width allows (src/quant/bit-width.ts). */
export { maxLevels };

/** `1 bit`, `ternary`, `4 bits`. */
export function describeBits(bits: number): string {
  return bits === 0 ? 'ternary' : `${bits} bit${bits === 1 ? '' : 's'}`;
}
