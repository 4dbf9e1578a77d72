/**
 * A PyTorch (or torchao) state dict in safetensors -> a parq-ts model of the zoo, with the
 * quantized kernels recognized so that export packs them with their levels.
 *
 * The model is built from its name and the checkpoint's shapes (classes from `logits.weight`, the
 * MLP's hidden sizes from `fc1.weight`, `fc2.weight`, ...; the input from `--input-shape` or the
 * model's default), then every weight is taken from its PyTorch key (see torch-names.ts). Any
 * missing, extra or mis-shaped tensor is an error naming it, before anything is built.
 *
 * A kernel counts as quantized when each group holds at most 256 distinct values and at most
 * half its size, per tensor or per output channel, whichever needs fewer bits (per tensor on a
 * tie). Its bits are `ceil(log2(most distinct values in a group))`, or ternary when every
 * group's values are `{-v, 0, v}`. torchao's quantized weights carry their bits and blocks instead.
 */
import * as tf from '@tensorflow/tfjs';
import { lenet5 } from '../models/lenet5.js';
import { mlp } from '../models/mlp.js';
import { resnet20 } from '../models/resnet20.js';
import type { Granularity } from '../quant/grouping.js';
import { groupView } from '../quant/grouping.js';
import { maxLevels } from '../quant/bit-width.js';
import { parseSafetensors, type SafetensorsFile } from './safetensors.js';
import { isTorchaoFile, readTorchaoWeights, type TorchaoWeight } from './torchao.js';
import { IGNORED_TORCH_SUFFIXES, torchNameMap, torchToTfjs } from './torch-names.js';

/** Models `importCheckpoint` can build. */
export const IMPORT_MODELS = ['mlp', 'lenet5', 'resnet20'] as const;
export type ImportModelName = (typeof IMPORT_MODELS)[number];

export interface ImportOptions {
  model: string;
  /** MLP hidden sizes; checked against the checkpoint when given, read from it otherwise. */
  hidden?: number[];
  /** One sample's shape: `[features]` or `[H, W, C]`. Default: mlp `[in]`, lenet5 `[28, 28, C]`, resnet20 `[32, 32, C]`. */
  inputShape?: number[];
}

/** How one kernel was recognized. */
export interface ImportedQuantization {
  bits: number;
  granularity: Granularity;
  /** Most distinct values in one group. */
  levels: number;
  source: 'distinct values' | 'IntxUnpackedToInt8Tensor' | 'Int4Tensor';
}

export interface ImportedModel {
  model: tf.LayersModel;
  layout: 'pytorch' | 'torchao';
  inputShape: number[];
  numClasses: number;
  /** Quantized kernels by tfjs name; kernels not listed stay float32. */
  quantized: Record<string, ImportedQuantization>;
  /** PyTorch keys read, in model order, and the ones ignored. */
  used: string[];
  ignored: string[];
}

const fail = (message: string): never => {
  throw new Error(`import: ${message}`);
};

/** Shapes of the checkpoint's tensors by PyTorch key, torchao weights as their logical shape. */
type Shapes = Map<string, number[]>;

function shapeOf(shapes: Shapes, key: string, model: string): number[] {
  const s = shapes.get(key);
  if (!s) fail(`no tensor '${key}' in the checkpoint, which a ${model} needs`);
  return s as number[];
}

function buildFor(opts: ImportOptions, shapes: Shapes): tf.LayersModel {
  const name = opts.model;
  if (!(IMPORT_MODELS as readonly string[]).includes(name)) {
    fail(`unknown model '${name}' (expected one of ${IMPORT_MODELS.join(', ')})`);
  }
  const numClasses = shapeOf(shapes, 'logits.weight', name)[0];
  if (name === 'mlp') {
    const hidden: number[] = [];
    for (let k = 1; shapes.has(`fc${k}.weight`); k++) hidden.push(shapes.get(`fc${k}.weight`)![0]);
    if (opts.hidden && opts.hidden.join(',') !== hidden.join(',')) {
      fail(
        `--hidden ${opts.hidden.join(',')} does not match the checkpoint's hidden layers [${hidden.join(', ')}]`,
      );
    }
    const first = hidden.length ? shapes.get('fc1.weight')! : shapes.get('logits.weight')!;
    const inputShape = opts.inputShape ?? [first[1]];
    return mlp({ inputShape, numClasses, hidden });
  }
  const stem = name === 'lenet5' ? 'conv1.weight' : 'stem_conv.weight';
  const channels = shapeOf(shapes, stem, name)[1];
  const side = name === 'lenet5' ? 28 : 32;
  const inputShape = opts.inputShape ?? [side, side, channels];
  return name === 'lenet5'
    ? lenet5({ inputShape, numClasses })
    : resnet20({ inputShape, numClasses });
}

/** Distinct-value recognition of one kernel (tfjs layout). */
function recognize(
  name: string,
  shape: number[],
  values: Float32Array,
): ImportedQuantization | undefined {
  let best: ImportedQuantization | undefined;
  for (const granularity of [{ kind: 'tensor' }, { kind: 'channel' }] as Granularity[]) {
    const g = groupView(shape, granularity, name);
    const [a, m, c] = g.view;
    let most = 0;
    let ternary = true;
    for (let ai = 0; ai < a && most <= 256; ai++) {
      for (let ci = 0; ci < c && most <= 256; ci++) {
        const set = new Set<number>();
        for (let mi = 0; mi < m && set.size <= 256; mi++) set.add(values[(ai * m + mi) * c + ci]);
        most = Math.max(most, set.size);
        if (ternary) {
          const v = [...set].sort((x, y) => x - y);
          ternary = v.length === 3 && v[1] === 0 && v[0] === -v[2];
        }
      }
    }
    if (most <= 256 && most * 2 <= m) {
      const bits = ternary ? 0 : Math.max(1, Math.ceil(Math.log2(most)));
      // per channel only when it needs fewer bits (ternary counts as 1.6)
      const cost = (b: number) => (b === 0 ? 1.6 : b);
      if (!best || cost(bits) < cost(best.bits)) {
        best = { bits, granularity, levels: most, source: 'distinct values' };
      }
    }
  }
  return best;
}

/** Reads a PyTorch / torchao safetensors checkpoint into a zoo model (see the module comment). */
export function importCheckpoint(
  bytes: Uint8Array | SafetensorsFile,
  opts: ImportOptions,
): ImportedModel {
  const file = bytes instanceof Uint8Array ? parseSafetensors(bytes) : bytes;
  const torchao = isTorchaoFile(file) ? readTorchaoWeights(file) : [];
  const aoByName = new Map<string, TorchaoWeight>(torchao.map((w) => [w.torchName, w]));
  const aoParts = new Set(torchao.flatMap((w) => w.parts));
  const shapes: Shapes = new Map();
  for (const e of file.entries) if (!aoParts.has(e.name)) shapes.set(e.name, e.shape);
  for (const w of torchao) {
    if (shapes.has(w.torchName)) fail(`'${w.torchName}' is stored both plain and as torchao parts`);
    shapes.set(w.torchName, w.shape);
  }

  const model = buildFor(opts, shapes);
  try {
    const map = torchNameMap(model);
    const wanted = new Set(map.map((e) => e.torchName));
    const missing = map.filter((e) => !shapes.has(e.torchName)).map((e) => e.torchName);
    if (missing.length) {
      fail(
        `the checkpoint lacks ${missing.length} tensor${missing.length > 1 ? 's' : ''} a ${opts.model} needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
      );
    }
    const ignored = [...shapes.keys()].filter(
      (k) => !wanted.has(k) && IGNORED_TORCH_SUFFIXES.some((s) => k.endsWith(s)),
    );
    const extra = [...shapes.keys()].filter((k) => !wanted.has(k) && !ignored.includes(k));
    if (extra.length) {
      fail(
        `the checkpoint has ${extra.length} tensor${extra.length > 1 ? 's' : ''} a ${opts.model} does not: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}`,
      );
    }
    for (const e of map) {
      const got = shapes.get(e.torchName)!;
      if (got.join(',') !== e.torchShape.join(',')) {
        fail(
          `tensor '${e.torchName}' has shape [${got.join(', ')}], the ${opts.model}'s '${e.tfName}' needs [${e.torchShape.join(', ')}]`,
        );
      }
    }
    const quantized: Record<string, ImportedQuantization> = {};
    const tensors = map.map((e) => {
      const ao = aoByName.get(e.torchName);
      const values = torchToTfjs(e, ao ? ao.values : file.float32(e.torchName));
      if (ao) {
        if (e.layout.kind === 'linear' && e.layout.flatten) {
          fail(
            `torchao weight '${e.torchName}' feeds from an image flatten, which reorders its blocks`,
          );
        }
        quantized[e.tfName] = {
          bits: ao.bits,
          granularity: { kind: 'block', blockSize: ao.blockSize },
          levels: maxLevels(ao.bits),
          source: ao.type,
        };
      } else if (e.isKernel) {
        const q = recognize(e.tfName, e.shape, values);
        if (q) quantized[e.tfName] = q;
      }
      return tf.tensor(values, e.shape);
    });
    model.setWeights(tensors);
    tf.dispose(tensors);
    const inputShape = (model.inputs[0].shape as number[]).slice(1);
    const numClasses = shapes.get('logits.weight')![0];
    return {
      model,
      layout: torchao.length ? 'torchao' : 'pytorch',
      inputShape,
      numClasses,
      quantized,
      used: map.map((e) => e.torchName),
      ignored,
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** `exportQuantized` / `exportTfjs` options (`bits`, `granularity`) for an imported model. */
export function importedExportOptions(imported: ImportedModel): {
  bits: Record<string, number>;
  granularity: Record<string, Granularity>;
} {
  const bits: Record<string, number> = {};
  const granularity: Record<string, Granularity> = {};
  for (const [name, q] of Object.entries(imported.quantized)) {
    bits[name] = q.bits;
    granularity[name] = q.granularity;
  }
  return { bits, granularity };
}
