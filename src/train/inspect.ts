/**
 * What the quantized tensors of a trained model hold, read from the model itself (for
 * `parq info` / `parq eval` and the end of a run): distinct values overall and per group,
 * and each group's values when they are few. Browser-safe.
 */
import type * as tf from '@tensorflow/tfjs';
import { packedIndexBytes } from '../quant/bit-width.js';
import { quantizedVariables } from './build.js';
import { isQuantMethod, type TrainConfig } from './config.js';
import type { QuantizedTensorInfo } from './metrics.js';
import { quantizedTensorInfo } from './stats.js';

/** Groups beyond this many get no `levels` listed. */
const MAX_LISTED_GROUPS = 16;

/**
 * The quantized tensors of `model` under `config` (none for fp), with the values each group
 * holds now. For a QAT-trained model those values are its levels.
 */
export async function inspectQuantized(
  config: TrainConfig,
  model: tf.LayersModel,
): Promise<QuantizedTensorInfo[]> {
  if (!isQuantMethod(config.method)) return [];
  const out: QuantizedTensorInfo[] = [];
  for (const entry of quantizedVariables(config, model)) {
    const values = await entry.variable.data();
    const info = quantizedTensorInfo(entry, values);
    const maxLevels = info.maxLevels;
    if (entry.view.numGroups <= MAX_LISTED_GROUPS) {
      const [a, m, c] = entry.view.view;
      const levels: number[][] = [];
      for (let ai = 0; ai < a; ai++) {
        for (let ci = 0; ci < c; ci++) {
          const seen = new Set<number>();
          for (let mi = 0; mi < m && seen.size <= maxLevels; mi++)
            seen.add(values[ai * m * c + mi * c + ci]);
          levels.push(seen.size <= maxLevels ? [...seen].sort((x, y) => x - y) : []);
        }
      }
      if (levels.every((l) => l.length > 0)) info.levels = levels;
    }
    out.push(info);
  }
  return out;
}

/**
 * Estimated bytes of the model with its quantized tensors packed (indices at `bits` per
 * weight, ternary at 5 weights a byte, plus float32 levels per group) and every other weight
 * float32. An estimate for `parq info`; the packed file format has its own header.
 */
export function estimatePackedBytes(
  model: tf.LayersModel,
  quantized: QuantizedTensorInfo[],
): { float32: number; packed: number } {
  const byName = new Map(quantized.map((q) => [q.name, q]));
  let float32 = 0;
  let packed = 0;
  for (const w of model.weights) {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    float32 += 4 * n;
    const q = byName.get(w.originalName);
    if (!q) {
      packed += 4 * n;
      continue;
    }
    packed += packedIndexBytes(n, q.bits) + 4 * q.groups * q.maxLevels;
  }
  return { float32, packed };
}
