/**
 * Export to the standard tfjs layers format (model.json + one weights file) with the
 * quantized values, loadable by any tfjs tool with `tf.loadLayersModel`.
 *
 * A quantized tensor whose distinct values lie on one evenly spaced grid of at most 256
 * points (within `uniformTolerance` of a grid step) is stored as tfjs's own uint8 weight
 * quantization (`quantization: {dtype: 'uint8', scale, min}`; tfjs dequantizes
 * `v * scale + min` in float64 and stores it as float32), one byte a weight. Otherwise (e.g.
 * LSBQ's 2-bit levels, or per-channel levels that share no grid) it is stored as float32, or
 * float16 with `floatDtype: 'float16'`. The report gives each tensor's largest difference
 * from the trained weights.
 */
import * as tf from '@tensorflow/tfjs';
import { CollectedTensor, collectTensors, CollectOptions, type QuantizedState } from './collect.js';
import { encodeFloat16, decodeFloat16, FLOAT16_MAX } from './float16.js';
import { PRODUCER } from './format.js';

export interface TfjsExportOptions extends CollectOptions {
  /** Storage of tensors not stored as uint8. Default 'float32' (exact). */
  floatDtype?: 'float32' | 'float16';
  /** How far (as a fraction of the grid step) a level may sit off the uniform grid. Default 1e-3. */
  uniformTolerance?: number;
}

export interface TfjsTensorReport {
  name: string;
  shape: number[];
  encoding: 'uint8' | 'float32' | 'float16';
  /** Distinct values of a quantized tensor. */
  distinct?: number;
  /** Largest |stored - trained| over the tensor's weights, after tfjs's own decoding. */
  maxAbsError: number;
  bytes: number;
}

export interface TfjsExport {
  /** Ready for any tfjs save handler: `await handler.save(artifacts)`. */
  artifacts: tf.io.ModelArtifacts;
  tensors: TfjsTensorReport[];
}

/**
 * The model's tfjs artifacts with quantized tensors as uint8 where their levels are uniform
 * (see the module comment). Levels come from `optimizer` or `options.bits`, as for
 * `exportQuantized`. Save them with any tfjs IOHandler, e.g. in Node
 * `fileSaveHandler(dir).save(artifacts)`, in the browser `tf.io.browserDownloads()`.
 */
export async function exportTfjs(
  model: tf.LayersModel,
  optimizer?: QuantizedState,
  options: TfjsExportOptions = {},
): Promise<TfjsExport> {
  const floatDtype = options.floatDtype ?? 'float32';
  if (floatDtype !== 'float32' && floatDtype !== 'float16') {
    throw new Error(`export: floatDtype must be 'float32' or 'float16', got '${floatDtype}'`);
  }
  const tol = options.uniformTolerance ?? 1e-3;
  if (!(tol >= 0 && tol < 0.5))
    throw new Error(`export: uniformTolerance must be in [0, 0.5), got ${tol}`);
  const tensors = await collectTensors(model, optimizer, options);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  const report: TfjsTensorReport[] = [];
  for (const t of tensors) {
    const enc = encodeTensor(t, floatDtype, tol);
    specs.push(enc.spec);
    parts.push(enc.bytes);
    report.push({ name: t.name, shape: t.shape, ...enc.report, bytes: enc.bytes.length });
  }
  const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: model.toJSON(null, false) as unknown as object,
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: PRODUCER,
    weightSpecs: specs,
    weightData: data.buffer,
  };
  return { artifacts, tensors: report };
}

interface Encoded {
  spec: tf.io.WeightsManifestEntry;
  bytes: Uint8Array;
  report: Pick<TfjsTensorReport, 'encoding' | 'distinct' | 'maxAbsError'>;
}

function encodeTensor(t: CollectedTensor, floatDtype: 'float32' | 'float16', tol: number): Encoded {
  const spec: tf.io.WeightsManifestEntry = { name: t.name, shape: t.shape, dtype: 'float32' };
  if (t.kind === 'quantized') {
    const distinct = Float64Array.from(new Set(t.values)).sort();
    const grid = uniformGrid(distinct, tol);
    if (grid) {
      const { scale, min, steps } = grid;
      const bytes = new Uint8Array(t.values.length);
      let maxAbsError = 0;
      const code = new Map<number, number>();
      distinct.forEach((v, j) => {
        code.set(v, steps[j]);
        // tfjs: values[i] = v * scale + min, computed in float64, stored in a Float32Array
        maxAbsError = Math.max(maxAbsError, Math.abs(Math.fround(steps[j] * scale + min) - v));
      });
      for (let i = 0; i < bytes.length; i++) bytes[i] = code.get(t.values[i]) as number;
      spec.quantization = { dtype: 'uint8', scale, min };
      return { spec, bytes, report: { encoding: 'uint8', distinct: distinct.length, maxAbsError } };
    }
    const enc = encodeFloats(t, floatDtype, spec);
    return { ...enc, report: { ...enc.report, distinct: distinct.length } };
  }
  return encodeFloats(t, floatDtype, spec);
}

function encodeFloats(
  t: CollectedTensor,
  floatDtype: 'float32' | 'float16',
  spec: tf.io.WeightsManifestEntry,
): Encoded {
  if (floatDtype === 'float32') {
    const bytes = new Uint8Array(t.values.length * 4);
    const view = new DataView(bytes.buffer);
    t.values.forEach((v, i) => view.setFloat32(4 * i, v, true));
    return { spec, bytes, report: { encoding: 'float32', maxAbsError: 0 } };
  }
  const big = t.values.findIndex((v) => Math.abs(v) > FLOAT16_MAX && Number.isFinite(v));
  if (big >= 0) {
    throw new Error(`export: tensor '${t.name}' holds ${t.values[big]}, beyond float16's range`);
  }
  const bytes = encodeFloat16(t.values);
  const back = decodeFloat16(bytes, t.values.length);
  let maxAbsError = 0;
  back.forEach((v, i) => (maxAbsError = Math.max(maxAbsError, Math.abs(v - t.values[i]))));
  spec.quantization = { dtype: 'float16' };
  return { spec, bytes, report: { encoding: 'float16', maxAbsError } };
}

/**
 * The grid `min + j * scale` (j = 0..255) holding every one of `sorted` distinct values within
 * `tol` grid steps, or null. `steps[j]` is each value's grid index.
 */
export function uniformGrid(
  sorted: Float64Array,
  tol: number,
): { scale: number; min: number; steps: number[] } | null {
  const m = sorted.length;
  if (m === 0 || m > 256) return null;
  const min = sorted[0];
  if (m === 1) return { scale: 1, min, steps: [0] };
  let step = Infinity;
  for (let j = 1; j < m; j++) step = Math.min(step, sorted[j] - sorted[j - 1]);
  if (!(step > 0)) return null;
  const last = Math.round((sorted[m - 1] - min) / step);
  if (last > 255) return null;
  const scale = (sorted[m - 1] - min) / last;
  const steps: number[] = [];
  for (let j = 0; j < m; j++) {
    const r = (sorted[j] - min) / scale;
    const s = Math.round(r);
    if (Math.abs(r - s) > tol) return null;
    steps.push(s);
  }
  return { scale, min, steps };
}
