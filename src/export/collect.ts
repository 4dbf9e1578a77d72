/**
 * Reading a model's weights for export: each weight's values and, for the quantized ones,
 * their level sets and every weight's index among its group's levels.
 *
 * Levels come from the QuantOptimizer's state when one is given (its `quantizedEntries` and
 * `getLevels`), else they are recovered from the distinct values of each group of the
 * tensors named by `bits`. Either way every weight must equal one of its group's levels
 * exactly, which holds once QAT has ended with hard quantization; a model mid-training
 * (PARQ or BinaryRelax before `annealEnd`) is refused with an error naming the tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { Granularity, groupView } from '../quant/grouping.js';
import { checkBits } from '../quant/quantizer.js';
import { DEFAULT_QUANT_PATTERNS, wildcardToRegExp } from '../quant/patterns.js';
import type { QatInspection } from '../optim/inspection.js';
import { describeBits, maxLevels } from './format.js';

/**
 * What export reads from the optimizer that trained the model (its inspection interface): its
 * quantized variables, with their bits and granularity, and their current levels.
 */
export type QuantizedState = Pick<QatInspection, 'quantizedEntries' | 'getLevels'>;

/** Which tensors are quantized when no optimizer is given, and how. */
export interface CollectOptions {
  /**
   * Without an optimizer: the QAT bits (1..8, 0 = ternary) of the quantized tensors. A number
   * applies to every Dense/Conv kernel (`* /kernel`, `* /depthwise_kernel`); a record maps
   * weight names or wildcard patterns (e.g. `'fc1/kernel'`, `'conv*\/kernel'`) to bits.
   * Their levels are recovered from the distinct values of each group.
   */
  bits?: number | Record<string, number>;
  /**
   * Without an optimizer: how those tensors were grouped, one for all or a record by name or
   * pattern. Default per tensor.
   */
  granularity?: Granularity | Record<string, Granularity>;
}

/** A weight stored as level indices. */
export interface QuantizedTensor {
  kind: 'quantized';
  name: string;
  shape: number[];
  values: Float32Array;
  bits: number;
  granularity: Granularity;
  view: [number, number, number];
  /** Levels per group. */
  k: number;
  /** `[groups * k]`, each group's levels ascending. */
  levels: Float32Array;
  /** Each weight's index into its group's levels, in the tensor's row-major order. */
  indices: Uint8Array;
}

/** A weight stored as floats. */
export interface FloatTensor {
  kind: 'float';
  name: string;
  shape: number[];
  values: Float32Array;
}

export type CollectedTensor = QuantizedTensor | FloatTensor;

interface QuantPlan {
  bits: number;
  granularity: Granularity;
  view: [number, number, number];
  /** Levels rows from the optimizer, or null to recover them from distinct values. */
  levels: Float32Array | null;
  k: number;
}

/**
 * Every weight of `model` (in `model.weights` order, named by `originalName`, as tfjs's own
 * `model.save` names them), with levels and indices for the quantized ones. Reads the weights
 * (asynchronously) and changes nothing. Throws, naming the tensor, on a weight off its levels,
 * too many distinct values, or options that match no weight.
 */
export async function collectTensors(
  model: tf.LayersModel,
  optimizer?: QuantizedState,
  options: CollectOptions = {},
): Promise<CollectedTensor[]> {
  if (!model || !Array.isArray((model as tf.LayersModel).weights) || !model.toJSON) {
    throw new Error('export: expected a tf.LayersModel');
  }
  const weights = model.weights;
  for (const w of weights) {
    if (w.dtype !== 'float32') {
      throw new Error(
        `export: weight '${w.originalName}' has dtype ${w.dtype}; only float32 is supported`,
      );
    }
  }
  const names = weights.map((w) => w.originalName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`export: two weights are named '${dup}'`);

  const plans = optimizer
    ? await plansFromOptimizer(model, optimizer, options)
    : plansFromOptions(model, options);
  const out: CollectedTensor[] = [];
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    const values = (await w.read().data()) as Float32Array;
    const name = w.originalName;
    const shape = [...w.shape] as number[];
    const plan = plans[i];
    if (!plan) {
      out.push({ kind: 'float', name, shape, values });
      continue;
    }
    const levels = plan.levels ?? recoverLevels(name, values, plan);
    const k = levels.length / (plan.view[0] * plan.view[2]);
    checkLevels(name, levels, k, plan.bits);
    const indices = levelIndices(name, values, plan.view, levels, k);
    out.push({
      kind: 'quantized',
      name,
      shape,
      values,
      bits: plan.bits,
      granularity: plan.granularity,
      view: plan.view,
      k,
      levels,
      indices,
    });
  }
  return out;
}

async function plansFromOptimizer(
  model: tf.LayersModel,
  optimizer: QuantizedState,
  options: CollectOptions,
): Promise<(QuantPlan | null)[]> {
  if (options.bits !== undefined || options.granularity !== undefined) {
    throw new Error(
      'export: bits and granularity come from the optimizer; pass them only without one',
    );
  }
  const entries = optimizer.quantizedEntries;
  if (entries.length === 0) {
    throw new Error(
      'export: the optimizer has quantized nothing yet (it learns its variables on its first ' +
        'step): train first, or export without it and pass bits',
    );
  }
  const used = new Set<string>();
  const plans: (QuantPlan | null)[] = [];
  for (const w of model.weights) {
    const v = w.read() as tf.Variable;
    const entry = entries.find((e) => e.variable === v) ?? entries.find((e) => e.name === v.name);
    if (!entry) {
      plans.push(null);
      continue;
    }
    used.add(entry.name);
    const rows = optimizer.getLevels(entry.variable);
    if (!rows) {
      throw new Error(
        `export: the optimizer holds no levels for '${w.originalName}' yet (still in warmup?)`,
      );
    }
    const levels = (await rows.data()) as Float32Array;
    const [groups, k] = rows.shape;
    rows.dispose();
    if (groups !== entry.view.numGroups) {
      throw new Error(
        `export: the optimizer's levels for '${w.originalName}' have ${groups} groups, its view ${entry.view.numGroups}`,
      );
    }
    plans.push({
      bits: entry.bits,
      granularity: entry.granularity,
      view: [...entry.view.view],
      levels,
      k,
    });
  }
  const stray = entries.find((e) => !used.has(e.name));
  if (stray) {
    throw new Error(
      `export: the optimizer quantizes variable '${stray.name}', which is not a weight of model ` +
        `'${model.name}': pass the optimizer that trained this model`,
    );
  }
  return plans;
}

/** Looks a weight name up in a number-or-record option (exact names first, then patterns). */
function lookup<T>(
  option: T | Record<string, T> | undefined,
  isSingle: (o: unknown) => boolean,
  names: string[],
  what: string,
): { single: T | undefined; byName: Map<string, T> } {
  const byName = new Map<string, T>();
  if (option === undefined) return { single: undefined, byName };
  if (isSingle(option)) return { single: option as T, byName };
  const record = option as Record<string, T>;
  for (const [key, value] of Object.entries(record)) {
    const re = wildcardToRegExp(key);
    const hits = names.filter((n) => n === key || re.test(n));
    if (hits.length === 0) {
      throw new Error(`export: ${what} '${key}' matches no weight (weights: ${names.join(', ')})`);
    }
    for (const n of hits) if (!byName.has(n)) byName.set(n, value);
  }
  return { single: undefined, byName };
}

function plansFromOptions(model: tf.LayersModel, options: CollectOptions): (QuantPlan | null)[] {
  const names = model.weights.map((w) => w.originalName);
  const bits = lookup(options.bits, (o) => typeof o === 'number', names, 'bits');
  const gran = lookup(
    options.granularity,
    (o) => typeof o === 'object' && o !== null && typeof (o as Granularity).kind === 'string',
    names,
    'granularity',
  );
  if (options.bits === undefined && options.granularity !== undefined) {
    throw new Error('export: granularity without bits: say which tensors are quantized (bits)');
  }
  const kernels = DEFAULT_QUANT_PATTERNS.map(wildcardToRegExp);
  return model.weights.map((w) => {
    const name = w.originalName;
    const b =
      bits.single !== undefined
        ? kernels.some((re) => re.test(name))
          ? bits.single
          : undefined
        : bits.byName.get(name);
    if (b === undefined) return null;
    checkBits(b, `export: bits of '${name}'`);
    const granularity = gran.single ?? gran.byName.get(name) ?? { kind: 'tensor' };
    const view = groupView(w.shape as number[], granularity, `export: weight '${name}'`);
    return { bits: b, granularity, view: [...view.view], levels: null, k: 0 };
  });
}

/** Each group's distinct values, ascending, padded to a common count by repeating the largest. */
function recoverLevels(name: string, values: Float32Array, plan: QuantPlan): Float32Array {
  const [A, M, C] = plan.view;
  const limit = maxLevels(plan.bits);
  const sets: Set<number>[] = Array.from({ length: A * C }, () => new Set<number>());
  let i = 0;
  for (let a = 0; a < A; a++) {
    for (let m = 0; m < M; m++) {
      for (let c = 0; c < C; c++, i++) {
        const s = sets[a * C + c];
        s.add(values[i]);
        if (s.size > limit) {
          const where = A * C > 1 ? ` in group ${a * C + c}` : '';
          throw new Error(
            `export: tensor '${name}' has more than ${limit} distinct values${where}, more than ` +
              `${describeBits(plan.bits)} allows: is it quantized (at ${describeBits(plan.bits)})?`,
          );
        }
      }
    }
  }
  const k = Math.max(...sets.map((s) => s.size));
  const levels = new Float32Array(A * C * k);
  sets.forEach((s, g) => {
    const row = Float32Array.from(s).sort();
    levels.set(row, g * k);
    levels.fill(row[row.length - 1], g * k + row.length, (g + 1) * k);
  });
  return levels;
}

/** Levels must be finite, fit the bit width, and are sorted ascending per group (in place). */
function checkLevels(name: string, levels: Float32Array, k: number, bits: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`export: tensor '${name}': bad level rows`);
  if (k > maxLevels(bits)) {
    throw new Error(
      `export: tensor '${name}' has ${k} levels a group, more than ${describeBits(bits)} can index`,
    );
  }
  for (let j = 0; j < levels.length; j++) {
    if (!Number.isFinite(levels[j])) {
      throw new Error(`export: tensor '${name}': its levels hold NaN or Infinity`);
    }
  }
  for (let g = 0; g < levels.length; g += k) levels.subarray(g, g + k).sort();
}

/** Each weight's index among its group's levels (exact equality), or an error naming the tensor. */
function levelIndices(
  name: string,
  values: Float32Array,
  view: [number, number, number],
  levels: Float32Array,
  k: number,
): Uint8Array {
  const [A, M, C] = view;
  if (A * M * C !== values.length) {
    throw new Error(
      `export: tensor '${name}': view [${view}] does not fit ${values.length} values`,
    );
  }
  const out = new Uint8Array(values.length);
  let bad = 0;
  let first = -1;
  let i = 0;
  for (let a = 0; a < A; a++) {
    for (let m = 0; m < M; m++) {
      for (let c = 0; c < C; c++, i++) {
        const base = (a * C + c) * k;
        const x = values[i];
        let lo = 0;
        let hi = k - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (levels[base + mid] < x) lo = mid + 1;
          else hi = mid;
        }
        if (levels[base + lo] === x) out[i] = lo;
        else if (bad++ === 0) first = i;
      }
    }
  }
  if (bad > 0) {
    const x = values[first];
    const g = Math.floor(first / (M * C)) * C + (first % C);
    const row = Array.from(levels.subarray(g * k, (g + 1) * k));
    const nearest = row.reduce((b, l) => (Math.abs(l - x) < Math.abs(b - x) ? l : b), row[0]);
    throw new Error(
      `export: tensor '${name}': ${bad} of ${values.length} weights are not on their group's ` +
        `levels (weight ${first} = ${x}, nearest level ${nearest}); a model mid-training is not ` +
        `exportable: finish QAT with hard quantization (PARQ/BinaryRelax past annealEnd)`,
    );
  }
  return out;
}
