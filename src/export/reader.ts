/**
 * Reading the packed low-bit file (format.ts, docs/format.md). Every check runs before any
 * model is built: magic, version, checksums, lengths, the tensor table, and the topology's
 * Dense/Conv layers against the tensors; a model is built only from a file that passed, and
 * is disposed if its weights still disagree with the tensors. Browser-safe.
 */
import * as tf from '@tensorflow/tfjs';
import { unpackBits, unpackToLevels, unpackTrits } from './bitpack.js';
// Registers the ViT's custom layers, so packed files holding them load.
import '../models/vit-layers.js';
import { crc32 } from './crc32.js';
import { inflate } from './deflate.js';
import { decodeFloat16 } from './float16.js';
import { readPathBytes } from './path-bytes.js';
import { indexBits, packedIndexBytes } from '../quant/bit-width.js';
import { formatBytes, grouped, rounded } from '../util/text-format.js';
import { isNode } from '../util/runtime.js';
import {
  describeBits,
  FLAG_HEAD_DEFLATE,
  FORMAT_MAJOR,
  FORMAT_NAME,
  MAGIC,
  maxLevels,
  PackedFormatError,
  PackedHeader,
  PREAMBLE_FIXED,
  QuantizedTensorEntry,
  SECTION_ENTRY,
  SECTION_TAGS,
  SectionTag,
  sizeOf,
  TensorEntry,
} from './format.js';

export interface SectionInfo {
  tag: string;
  offset: number;
  length: number;
  crc: number;
}

/** A parsed, verified packed file (the tensors are decoded on demand by `decodeTensors`). */
export interface PackedFile {
  version: { major: number; minor: number };
  flags: number;
  header: PackedHeader;
  sections: SectionInfo[];
  byteLength: number;
}

/** A decoded weight. */
export interface DecodedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

const fail = (message: string): never => {
  throw new PackedFormatError(message);
};

/** Whether `bytes` start with the packed file's magic. */
export function isPackedBytes(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

function checkMagic(bytes: Uint8Array): void {
  if (bytes.length === 0) fail('not a parq packed file (the file is empty)');
  const n = Math.min(bytes.length, MAGIC.length);
  const prefixOk = MAGIC.subarray(0, n).every((b, i) => bytes[i] === b);
  if (!prefixOk) fail('not a parq packed file (wrong magic bytes)');
  if (bytes.length < PREAMBLE_FIXED) {
    fail(`truncated file: ${bytes.length} bytes, a packed file's preamble alone needs more`);
  }
}

/**
 * Parses and verifies `bytes` as a packed file: magic, version, preamble and section
 * checksums, lengths, and the header's tensor table against the section sizes. Throws a
 * PackedFormatError naming the first problem.
 */
export async function parsePacked(bytes: Uint8Array): Promise<PackedFile> {
  checkMagic(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = view.getUint16(8, true);
  const minor = view.getUint16(10, true);
  if (major > FORMAT_MAJOR) {
    fail(
      `file format version ${major}.${minor} is newer than this parq-ts reads ` +
        `(${FORMAT_MAJOR}.x): upgrade parq-ts`,
    );
  }
  if (major < 1) fail(`unknown file format version ${major}.${minor}`);
  const count = view.getUint16(14, true);
  const preamble = PREAMBLE_FIXED + SECTION_ENTRY * count + 4;
  if (bytes.length < preamble) {
    fail(`truncated file: ${bytes.length} bytes, its preamble needs ${preamble}`);
  }
  if (crc32(bytes.subarray(0, preamble - 4)) !== view.getUint32(preamble - 4, true)) {
    fail('preamble checksum mismatch: the file is damaged');
  }
  const flags = view.getUint16(12, true);
  if (flags & ~FLAG_HEAD_DEFLATE) {
    fail(`unknown flags 0x${flags.toString(16)} in a version ${major}.${minor} file`);
  }
  const sections: SectionInfo[] = [];
  let at = preamble;
  for (let i = 0; i < count; i++) {
    const e = PREAMBLE_FIXED + SECTION_ENTRY * i;
    const tag = String.fromCharCode(...bytes.subarray(e, e + 4));
    const length = view.getUint32(e + 4, true);
    sections.push({ tag, offset: at, length, crc: view.getUint32(e + 8, true) });
    at += length;
  }
  if (bytes.length < at) fail(`truncated file: ${bytes.length} bytes, its sections need ${at}`);
  if (bytes.length > at) fail(`${bytes.length - at} unexpected bytes after the last section`);
  for (const tag of SECTION_TAGS) {
    const n = sections.filter((s) => s.tag === tag).length;
    if (n !== 1) fail(n === 0 ? `missing section ${tag}` : `section ${tag} appears ${n} times`);
  }
  for (const s of sections) {
    if (crc32(bytes.subarray(s.offset, s.offset + s.length)) !== s.crc) {
      fail(`checksum mismatch in section ${s.tag}: the file is damaged`);
    }
  }
  const head = section(bytes, sections, 'HEAD');
  const header = parseHeader(flags & FLAG_HEAD_DEFLATE ? await inflateHeader(head) : head);
  checkSectionSizes(header.tensors, sections);
  return { version: { major, minor }, flags, header, sections, byteLength: bytes.length };
}

/**
 * The most a deflated header may inflate to: 1 MiB plus 64x its compressed size. A header is
 * JSON (a topology and a tensor table), which deflates 5-20x; more than 64x is a deflate bomb
 * (a 331 KB file inflating to 256 MB), refused before it is held in memory.
 */
export function maxHeaderBytes(compressed: number): number {
  return 2 ** 20 + 64 * compressed;
}

async function inflateHeader(head: Uint8Array): Promise<Uint8Array> {
  try {
    return await inflate(head, maxHeaderBytes(head.length));
  } catch (e) {
    return fail((e as Error).message);
  }
}

function section(bytes: Uint8Array, sections: SectionInfo[], tag: SectionTag): Uint8Array {
  const s = sections.find((x) => x.tag === tag) as SectionInfo;
  return bytes.subarray(s.offset, s.offset + s.length);
}

function parseHeader(bytes: Uint8Array): PackedHeader {
  let h: any;
  try {
    h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof h !== 'object' || h === null || h.format !== FORMAT_NAME) {
    fail(`header does not describe a '${FORMAT_NAME}' file`);
  }
  if (typeof h.modelTopology !== 'object' || h.modelTopology === null) {
    fail('header has no model topology');
  }
  if (!Array.isArray(h.tensors)) fail('header has no tensor table');
  const seen = new Set<string>();
  (h.tensors as unknown[]).forEach((t, i) => {
    checkEntry(t, i);
    const name = (t as TensorEntry).name;
    if (seen.has(name)) fail(`tensor table names '${name}' twice`);
    seen.add(name);
  });
  return h as PackedHeader;
}

const isDim = (d: unknown): boolean => Number.isInteger(d) && (d as number) >= 0;

function checkEntry(t: any, i: number): void {
  if (typeof t !== 'object' || t === null || typeof t.name !== 'string') {
    fail(`tensor table entry ${i} has no name`);
  }
  const what = `tensor '${t.name}'`;
  if (!Array.isArray(t.shape) || !t.shape.every(isDim)) fail(`${what}: bad shape`);
  if (t.dtype !== 'float32') fail(`${what}: unsupported dtype '${t.dtype}'`);
  if (t.encoding === 'float32' || t.encoding === 'float16') return;
  if (t.encoding !== 'levels') fail(`${what}: unknown encoding '${t.encoding}'`);
  if (!Number.isInteger(t.bits) || t.bits < 0 || t.bits > 8) fail(`${what}: bad bits ${t.bits}`);
  if (t.packing !== 'bits' && !(t.packing === 'trits' && t.bits === 0)) {
    fail(`${what}: packing '${t.packing}' does not fit ${describeBits(t.bits)}`);
  }
  if (!Array.isArray(t.view) || t.view.length !== 3 || !t.view.every(isDim)) {
    fail(`${what}: bad group view`);
  }
  if (sizeOf(t.view) !== sizeOf(t.shape)) {
    fail(`${what}: group view [${t.view}] does not fit shape [${t.shape}]`);
  }
  if (!Number.isInteger(t.levels) || t.levels < 1 || t.levels > maxLevels(t.bits)) {
    fail(`${what}: ${t.levels} levels do not fit ${describeBits(t.bits)}`);
  }
}

/** Bytes each section should hold for these tensors. */
export function sectionSizes(tensors: TensorEntry[]): Record<'LVLS' | 'IDXS' | 'FLTS', number> {
  const sizes = { LVLS: 0, IDXS: 0, FLTS: 0 };
  for (const t of tensors) {
    const n = sizeOf(t.shape);
    if (t.encoding === 'levels') {
      sizes.LVLS += 4 * t.view[0] * t.view[2] * t.levels;
      sizes.IDXS += indexBytes(t, n);
    } else {
      sizes.FLTS += (t.encoding === 'float16' ? 2 : 4) * n;
    }
  }
  return sizes;
}

function indexBytes(t: QuantizedTensorEntry, n: number): number {
  return packedIndexBytes(n, t.bits, t.packing);
}

function checkSectionSizes(tensors: TensorEntry[], sections: SectionInfo[]): void {
  const sizes = sectionSizes(tensors);
  for (const tag of ['LVLS', 'IDXS', 'FLTS'] as const) {
    const have = (sections.find((s) => s.tag === tag) as SectionInfo).length;
    if (have !== sizes[tag]) {
      fail(`section ${tag} holds ${have} bytes, the tensor table needs ${sizes[tag]}`);
    }
  }
}

/** Decodes every tensor of a verified file to float32 values. */
export function decodeTensors(file: PackedFile, bytes: Uint8Array): DecodedTensor[] {
  const lv = section(bytes, file.sections, 'LVLS');
  const ix = section(bytes, file.sections, 'IDXS');
  const fl = section(bytes, file.sections, 'FLTS');
  const lvView = new DataView(lv.buffer, lv.byteOffset, lv.byteLength);
  const flView = new DataView(fl.buffer, fl.byteOffset, fl.byteLength);
  let lvAt = 0;
  let ixAt = 0;
  let flAt = 0;
  let at = 0;
  const all = new Float32Array(file.header.tensors.reduce((a, t) => a + sizeOf(t.shape), 0));
  return file.header.tensors.map((t) => {
    const n = sizeOf(t.shape);
    const values = all.subarray(at, at + n);
    at += n;
    if (t.encoding === 'float32') {
      for (let i = 0; i < n; i++) values[i] = flView.getFloat32(flAt + 4 * i, true);
      flAt += 4 * n;
      checkFinite(t.name, values, 'weight');
    } else if (t.encoding === 'float16') {
      values.set(decodeFloat16(fl.subarray(flAt, flAt + 2 * n), n));
      flAt += 2 * n;
      checkFinite(t.name, values, 'weight');
    } else {
      const q = t as QuantizedTensorEntry;
      const [A, , C] = q.view;
      const k = q.levels;
      const levels = new Float32Array(A * C * k);
      for (let j = 0; j < levels.length; j++) levels[j] = lvView.getFloat32(lvAt + 4 * j, true);
      lvAt += 4 * levels.length;
      checkFinite(t.name, levels, 'level');
      for (let j = 1; j < levels.length; j++) {
        if (j % k !== 0 && levels[j] < levels[j - 1]) {
          fail(
            `tensor '${t.name}': levels of group ${Math.floor(j / k)} are not ascending ` +
              `(${levels[j - 1]} before ${levels[j]})`,
          );
        }
      }
      const len = indexBytes(q, n);
      const packed = ix.subarray(ixAt, ixAt + len);
      ixAt += len;
      const width = q.packing === 'trits' ? 'trits' : indexBits(q.bits);
      let bad: number;
      try {
        bad =
          A * C === 1
            ? unpackToLevels(packed, n, width, levels, values)
            : gatherGroups(packed, n, width, q.view, levels, values);
      } catch (e) {
        return fail(`tensor '${t.name}': ${(e as Error).message}`);
      }
      if (bad >= 0)
        fail(`tensor '${t.name}': weight ${bad} has a level index beyond its ${k} levels`);
    }
    return { name: t.name, shape: t.shape, values };
  });
}

/** Throws naming the tensor when a decoded value is NaN or infinite. */
function checkFinite(name: string, values: Float32Array, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      fail(`tensor '${name}': ${what} ${i} is ${values[i]} (not a finite number)`);
    }
  }
}

/** `values[i] = levels[group(i)][index[i]]` for a view of several groups; the first bad index or -1. */
function gatherGroups(
  packed: Uint8Array,
  n: number,
  width: number | 'trits',
  view: [number, number, number],
  levels: Float32Array,
  values: Float32Array,
): number {
  const [A, M, C] = view;
  const k = levels.length / (A * C);
  const idx = width === 'trits' ? unpackTrits(packed, n) : unpackBits(packed, n, width);
  let bad = -1;
  let i = 0;
  for (let a = 0; a < A; a++) {
    for (let m = 0; m < M; m++) {
      for (let c = 0, base = a * C * k; c < C; c++, i++, base += k) {
        const j = idx[i];
        if (j >= k && bad < 0) bad = i;
        values[i] = levels[base + j];
      }
    }
  }
  return bad;
}

/** What `parq info` shows about a packed file. */
export interface PackedDescription {
  version: string;
  producer: string;
  byteLength: number;
  headerCompressed: boolean;
  sections: { tag: string; bytes: number }[];
  /** Topology class (Sequential, Model) and layer count. */
  model: { className: string; name: string; layers: number };
  tensors: {
    name: string;
    shape: number[];
    encoding: 'levels' | 'float32' | 'float16';
    /** Levels only: how the indices are packed. */
    packing?: 'bits' | 'trits';
    bits?: number;
    groups?: number;
    levels?: number;
    bytes: number;
  }[];
  parameters: number;
  quantizedParameters: number;
  /** Bytes the same weights take as float32. */
  float32Bytes: number;
  metadata?: Record<string, unknown>;
}

/** Verifies `bytes` and summarizes the file (no model is built, no tensor decoded). */
export async function describePacked(bytes: Uint8Array): Promise<PackedDescription> {
  const file = await parsePacked(bytes);
  const { header } = file;
  const topo = header.modelTopology as any;
  const layers = topologyLayers(topo);
  const tensors = header.tensors.map((t) => {
    const n = sizeOf(t.shape);
    if (t.encoding !== 'levels') {
      return {
        name: t.name,
        shape: t.shape,
        encoding: t.encoding,
        bytes: (t.encoding === 'float16' ? 2 : 4) * n,
      };
    }
    const groups = t.view[0] * t.view[2];
    return {
      name: t.name,
      shape: t.shape,
      encoding: 'levels' as const,
      packing: t.packing,
      bits: t.bits,
      groups,
      levels: t.levels,
      bytes: indexBytes(t, n) + 4 * groups * t.levels,
    };
  });
  const parameters = header.tensors.reduce((a, t) => a + sizeOf(t.shape), 0);
  const quantizedParameters = header.tensors
    .filter((t) => t.encoding === 'levels')
    .reduce((a, t) => a + sizeOf(t.shape), 0);
  const d: PackedDescription = {
    version: `${file.version.major}.${file.version.minor}`,
    producer: String(header.producer),
    byteLength: file.byteLength,
    headerCompressed: (file.flags & FLAG_HEAD_DEFLATE) !== 0,
    sections: file.sections.map((s) => ({ tag: s.tag, bytes: s.length })),
    model: {
      className: String(topo?.class_name ?? 'unknown'),
      name: String(topo?.config?.name ?? ''),
      layers: layers.length,
    },
    tensors,
    parameters,
    quantizedParameters,
    float32Bytes: 4 * parameters,
  };
  if (header.metadata !== undefined) d.metadata = header.metadata;
  return d;
}

/** `describePacked`'s result as the lines `parq info` prints. */
export function formatPackedDescription(d: PackedDescription): string {
  const lines = [
    `parq packed file, format ${d.version}, written by ${d.producer}`,
    `model: ${d.model.className} '${d.model.name}', ${d.model.layers} layers, ` +
      `${grouped(d.parameters)} parameters (${grouped(d.quantizedParameters)} quantized)`,
    `size: ${grouped(d.byteLength)} bytes (${formatBytes(d.byteLength)}), ` +
      `${(d.float32Bytes / d.byteLength).toFixed(1)}x smaller than float32 weights (${formatBytes(d.float32Bytes)})`,
    `sections: ${d.sections.map((s) => `${s.tag} ${grouped(s.bytes)}`).join(', ')}` +
      (d.headerCompressed ? ' (header deflated)' : ''),
    'tensors:',
  ];
  for (const t of d.tensors) {
    let what: string = t.encoding;
    if (t.bits !== undefined) {
      const packing = t.packing === 'trits' ? 'base-3 packed' : `${indexBits(t.bits)}-bit indices`;
      const groups = `${t.groups} group${t.groups === 1 ? '' : 's'}`;
      what = `${describeBits(t.bits)} (${packing}), ${groups} of ${t.levels} levels`;
    }
    lines.push(`  ${t.name} [${t.shape.join(', ')}]: ${what}, ${grouped(t.bytes)} bytes`);
  }
  if (d.metadata !== undefined) {
    // scalars (numbers to 4 digits), objects (e.g. a run's config) as {...}: describePacked
    // has them all in full
    const fields = Object.entries(d.metadata).map(([k, v]) =>
      v !== null && typeof v === 'object'
        ? `${k} {...}`
        : `${k} ${typeof v === 'number' ? rounded(v) : JSON.stringify(v)}`,
    );
    lines.push(`metadata: ${fields.join(', ')}`);
  }
  return lines.join('\n');
}

/** The top-level layers of a tfjs topology: `{name, className, config}`. */
function topologyLayers(topo: any): { name: string; className: string; config: any }[] {
  const config = topo?.config;
  const list: any[] = Array.isArray(config)
    ? config
    : Array.isArray(config?.layers)
      ? config.layers
      : [];
  return list
    .filter((l) => l && typeof l === 'object')
    .map((l) => ({
      name: String(l.config?.name ?? l.name ?? ''),
      className: String(l.class_name ?? ''),
      config: l.config ?? {},
    }));
}

/**
 * Checks the topology's Dense and Conv layers against the tensors before anything is built:
 * each needs its kernel (and its bias when `use_bias`), with `units` / `filters` /
 * `kernel_size` matching the shapes.
 */
export function checkTopology(
  topology: unknown,
  tensors: { name: string; shape: number[] }[],
): void {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const layer of topologyLayers(topology)) {
    const c = layer.config;
    let out: number | undefined;
    let kernelDims: number[] | undefined;
    if (layer.className === 'Dense') out = c.units;
    else if (/^Conv[123]D$/.test(layer.className)) {
      out = c.filters;
      kernelDims = Array.isArray(c.kernel_size) ? c.kernel_size : undefined;
    } else continue;
    const what = `topology layer '${layer.name}' (${layer.className}`;
    const kernel = byName.get(`${layer.name}/kernel`);
    if (!kernel) fail(`${what}) has no tensor '${layer.name}/kernel' in the file`);
    const k = kernel as { shape: number[] };
    if (k.shape[k.shape.length - 1] !== out) {
      fail(
        `${what}, ${out} outputs) does not match tensor '${layer.name}/kernel' of shape [${k.shape}]`,
      );
    }
    if (kernelDims && !kernelDims.every((d, i) => k.shape[i] === d)) {
      fail(
        `${what}, kernel_size [${kernelDims}]) does not match tensor '${layer.name}/kernel' of shape [${k.shape}]`,
      );
    }
    const bias = byName.get(`${layer.name}/bias`);
    if (c.use_bias !== false && (!bias || bias.shape.length !== 1 || bias.shape[0] !== out)) {
      fail(`${what}, ${out} outputs) needs a tensor '${layer.name}/bias' of shape [${out}]`);
    }
  }
}

/** A source of packed bytes: a path (Node) or URL (fetched), or the bytes themselves. */
export type PackedSource = string | ArrayBuffer | ArrayBufferView;

/** Reads the bytes of a source: paths (Node, also `file://`) from disk, other strings by fetch. */
export async function readPackedSource(source: PackedSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  }
  if (typeof source !== 'string') {
    throw new Error('loadQuantized: expected a path, URL, ArrayBuffer or Uint8Array');
  }
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file://');
  if (isNode() && !isUrl) return readPathBytes(source);
  const res = await fetch(source);
  if (!res.ok)
    throw new Error(`loadQuantized: HTTP ${res.status} ${res.statusText} fetching ${source}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Loads a packed file as a tf.LayersModel whose weights equal the exported ones bit for bit
 * (float tensors stored as float16 excepted). `source`: a path (Node; `file://` accepted), a
 * URL (fetched), or the file's bytes. Everything is verified before the model is built; a
 * PackedFormatError names the problem.
 */
export async function loadQuantized(source: PackedSource): Promise<tf.LayersModel> {
  const bytes = await readPackedSource(source);
  const file = await parsePacked(bytes);
  const tensors = decodeTensors(file, bytes);
  checkTopology(file.header.modelTopology, tensors);
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({
      modelTopology: file.header.modelTopology as tf.io.ModelJSON['modelTopology'],
    } as any);
  } catch (e) {
    return fail(`cannot build the model from the file's topology (${(e as Error).message})`);
  }
  try {
    setWeights(model, tensors);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

function setWeights(model: tf.LayersModel, tensors: DecodedTensor[]): void {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const names = new Set(model.weights.map((w) => w.originalName));
  for (const w of model.weights) {
    const t = byName.get(w.originalName);
    if (!t) fail(`the topology has weight '${w.originalName}', the file has no such tensor`);
    const shape = t!.shape;
    if (shape.length !== w.shape.length || !shape.every((d, i) => d === w.shape[i])) {
      fail(`tensor '${w.originalName}' has shape [${shape}], the topology needs [${w.shape}]`);
    }
  }
  const extra = tensors.find((t) => !names.has(t.name));
  if (extra) fail(`the file has tensor '${extra.name}', which no layer of the topology holds`);
  tf.tidy(() => {
    for (const w of model.weights) {
      const t = byName.get(w.originalName) as DecodedTensor;
      w.write(tf.tensor(t.values, t.shape, 'float32'));
    }
  });
}
