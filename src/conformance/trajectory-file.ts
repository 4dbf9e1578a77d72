/**
 * A parq-trajectory/1 file (shared/conformance/FORMAT.md, "Training trajectories"): an MLP with
 * explicit initial weights and batch order, and per case the reference's per-step training loss.
 * `checkTrajectoryFile` validates and bounds every field before anything trains.
 */
import type { TensorJson } from './compare.js';
import {
  array,
  ConformanceFileError,
  finite,
  int,
  isObject,
  MAX_STEPS,
  numbers,
  object,
  oneOf,
  optionalBoolean,
  string,
  tensor,
  Where,
} from './validate.js';

export const TRAJECTORY_FORMAT = 'parq-trajectory/1';

export const TRAJECTORY_METHODS = ['ste', 'parq', 'binaryrelax', 'softquant'] as const;
export const TRAJECTORY_QUANTIZERS = [
  'UnifQuantizer',
  'MaxUnifQuantizer',
  'TernaryUnifQuantizer',
  'LSBQuantizer',
] as const;

/** Samples in the protocol mlp-mnist10k train split the batches index. */
export const MNIST_TRAIN_SIZE = 8004;
const MNIST_PIXELS = 784;
const MNIST_CLASSES = 10;

export interface KernelFinal {
  distinct: number;
  sum: number;
  sumSq: number;
  levels?: number[];
}

export interface TrajectoryCase {
  name: string;
  method: (typeof TRAJECTORY_METHODS)[number];
  quantizer: (typeof TRAJECTORY_QUANTIZERS)[number];
  bits: number;
  /** `tensor`, `channel` or `blockN`. */
  granularity: string;
  totalSteps: number;
  annealEnd: number;
  steps: number;
  horizon: number;
  warmupSteps?: number;
  quantPeriod?: number;
  quantShrink?: boolean;
  losses: number[];
  final?: Record<string, KernelFinal>;
}

export interface TrajectoryFile {
  format: typeof TRAJECTORY_FORMAT;
  source?: string;
  model: { kind: 'mlp'; hidden: number[] };
  init: Record<string, TensorJson>;
  batches: number[][];
  cases: TrajectoryCase[];
}

/** The names of the MLP's layers for `hidden`: fc1, fc2, ..., logits. */
export function layerNames(hidden: readonly number[]): string[] {
  return [...hidden.map((_, k) => `fc${k + 1}`), 'logits'];
}

function checkCase(c: unknown, i: number, file: TrajectoryFile): void {
  const at = new Where(`case ${i}`);
  const o = object(c, at);
  const name = string(o.name, at.at('name'));
  const w = new Where(`case ${i} ('${name}')`);
  oneOf(o.method, TRAJECTORY_METHODS, w.at('method'));
  oneOf(o.quantizer, TRAJECTORY_QUANTIZERS, w.at('quantizer'));
  int(o.bits, w.at('bits'), 0, 8);
  if (o.bits === 0 && o.quantizer !== 'TernaryUnifQuantizer' && o.quantizer !== 'LSBQuantizer')
    w.at('bits').fail(
      `bits 0 (ternary) needs TernaryUnifQuantizer or LSBQuantizer, got ${o.quantizer}`,
    );
  if (o.quantizer === 'TernaryUnifQuantizer' && o.bits !== 0)
    w.at('bits').fail(`TernaryUnifQuantizer needs bits 0, got ${o.bits}`);
  const g = String(o.granularity);
  if (typeof o.granularity !== 'string' || !/^(tensor|channel|block[1-9]\d{0,5})$/.test(g))
    w.at('granularity').fail(
      `expected tensor, channel or blockN, got ${JSON.stringify(o.granularity)}`,
    );
  if (g.startsWith('block')) {
    const n = Number(g.slice(5));
    const dims = [MNIST_PIXELS, ...file.model.hidden];
    for (const [k, rows] of dims.entries()) {
      if (rows % n !== 0)
        w.at('granularity').fail(
          `${layerNames(file.model.hidden)[k]}/kernel has ${rows} weights per channel, not divisible by ${n}`,
        );
    }
  }
  const total = int(o.totalSteps, w.at('totalSteps'), 1, MAX_STEPS);
  int(o.annealEnd, w.at('annealEnd'), 1, total);
  const steps = int(o.steps, w.at('steps'), 1, Math.min(MAX_STEPS, file.batches.length));
  int(o.horizon, w.at('horizon'), 0, steps);
  if (o.warmupSteps !== undefined) int(o.warmupSteps, w.at('warmupSteps'), 0, MAX_STEPS);
  if (o.quantPeriod !== undefined) int(o.quantPeriod, w.at('quantPeriod'), 1, MAX_STEPS);
  optionalBoolean(o.quantShrink, w.at('quantShrink'));
  numbers(o.losses, w.at('losses'), steps);
  if (o.horizon === steps || o.final !== undefined) {
    const final = object(o.final, w.at('final'));
    for (const layer of layerNames(file.model.hidden)) {
      const k = `${layer}/kernel`;
      const f = object(final[k], w.at('final').at(k));
      int(f.distinct, w.at('final').at(k).at('distinct'), 0, Number.MAX_SAFE_INTEGER);
      finite(f.sum, w.at('final').at(k).at('sum'));
      finite(f.sumSq, w.at('final').at(k).at('sumSq'));
      if (f.levels !== undefined) numbers(f.levels, w.at('final').at(k).at('levels'));
    }
  }
}

/** Throws a ConformanceFileError naming the first malformed field (and its case). */
export function checkTrajectoryFile(file: unknown): asserts file is TrajectoryFile {
  const top: Where = new Where('trajectory file');
  if (!isObject(file)) top.fail('expected a JSON object');
  if (file.format !== TRAJECTORY_FORMAT)
    top.at('format').fail(`expected ${TRAJECTORY_FORMAT}, got ${JSON.stringify(file.format)}`);
  if (file.source !== undefined) string(file.source, top.at('source'));
  const model = object(file.model, top.at('model'));
  if (model.kind !== undefined && model.kind !== 'mlp')
    top
      .at('model')
      .at('kind')
      .fail(`expected "mlp", got ${JSON.stringify(model.kind)}`);
  const hidden = array(model.hidden, top.at('model').at('hidden'), 0, 16).map((h, k) =>
    int(h, top.at('model').at('hidden').at(k), 1, 4096),
  );
  const init = object(file.init, top.at('init'));
  const dims = [MNIST_PIXELS, ...hidden, MNIST_CLASSES];
  layerNames(hidden).forEach((layer, k) => {
    tensor(init[`${layer}/kernel`], top.at('init').at(`${layer}/kernel`), [dims[k], dims[k + 1]]);
    tensor(init[`${layer}/bias`], top.at('init').at(`${layer}/bias`), [dims[k + 1]]);
  });
  const batches = array(file.batches, top.at('batches'), 1, MAX_STEPS);
  batches.forEach((b, s) => {
    const bw = top.at('batches').at(s);
    array(b, bw, 1, MNIST_TRAIN_SIZE).forEach((x, j) => int(x, bw.at(j), 0, MNIST_TRAIN_SIZE - 1));
  });
  const cases = array(file.cases, top.at('cases'), 1, 10_000);
  const names = new Set<string>();
  cases.forEach((c, i) => {
    checkCase(c, i, file as unknown as TrajectoryFile);
    const name = (c as TrajectoryCase).name;
    if (names.has(name))
      throw new ConformanceFileError(`case ${i} ('${name}') field 'name': repeats an earlier case`);
    names.add(name);
  });
}
