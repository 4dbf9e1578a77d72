/**
 * The configuration of one training run: plain JSON, so it travels in metrics.json and
 * checkpoints, and one validation that names the bad field (the CLI, the playground and the
 * benchmarks all build a `TrainConfig` and call `trainRun`).
 */
import type { Granularity } from '../quant/grouping.js';
import { QUANTIZER_NAMES, type QuantizerName } from '../quant/registry.js';

/** Training methods: float, or QAT with one prox map (admmq: ADMM-Q). */
export const METHOD_NAMES = ['fp', 'ste', 'parq', 'binaryrelax', 'softquant', 'admmq'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export const LR_SCHEDULE_NAMES = ['cosine', 'step', 'constant'] as const;
export type LrScheduleName = (typeof LR_SCHEDULE_NAMES)[number];

/** One training run. Defaults (`DEFAULT_TRAIN_CONFIG`) reproduce protocol mlp-mnist10k. */
export interface TrainConfig {
  /** Dataset spec: `mnist`, `idx:DIR`, `cifar10:DIR`, `csv:FILE` (recorded; the caller loads it). */
  data: string;
  /** CSV only: the label column. */
  labelColumn: string;
  /** Train on a fixed random subset of this many samples (0 = all); same subset for every seed. */
  limitTrain: number;
  /** Test on a fixed random subset of this many samples (0 = all). */
  limitTest: number;
  /** `mlp`, `lenet5`, `resnet20`, or a path to a tfjs model.json (loaded by the caller). */
  model: string;
  /** MLP hidden layer sizes. */
  hidden: number[];
  method: MethodName;
  quantizer: QuantizerName;
  /** Bits of the quantized kernels: 1..8, 0 = ternary. */
  bits: number;
  /** Which weights share one level set: per tensor, per output channel, or per block. */
  granularity: Granularity;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  /** Momentum of the `momentum` optimizer (heavy ball, no dampening). */
  momentum: number;
  lrSchedule: LrScheduleName;
  /** `step` schedule: multiply the lr by 0.1 every this many epochs. */
  lrStepEpochs: number;
  /** Annealing window of the prox map, as fractions of all steps. */
  annealStart: number;
  annealEnd: number;
  /** PARQ: steepness and center of the normalized mirror sigmoid. */
  steepness: number;
  annealCenter: number;
  /** Steps of plain training before QAT starts. */
  warmupSteps: number;
  /** Refresh the levels every this many steps. */
  quantPeriod: number;
  /** AProx: quantize `w / max(1, cumulative lr)`. */
  quantShrink: boolean;
  /** ADMM-Q: the penalty rho grows geometrically, once an epoch, from `rho` to `rhoMax`. */
  rho: number;
  rhoMax: number;
  /** ADMM-Q: z- and dual updates every this many steps (0 = once an epoch). */
  projectEvery: number;
  /** Seed of the model initializers and of the data order. */
  seed: number;
  /** Evaluate on the test split every this many epochs (0 = only at the end). */
  evalEvery: number;
  /**
   * Classes of the model (labels 0..n-1, some may be absent). Unset: the data's, where a
   * label-derived count must have no gaps (see `resolveClasses`).
   */
  numClasses?: number;
}

export const DEFAULT_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze({
  data: 'mnist',
  labelColumn: 'label',
  limitTrain: 0,
  limitTest: 0,
  model: 'mlp',
  hidden: [256, 256],
  method: 'parq',
  quantizer: 'lsbq',
  bits: 2,
  granularity: { kind: 'tensor' },
  epochs: 20,
  batchSize: 64,
  optimizer: 'momentum',
  lr: 0.05,
  momentum: 0.9,
  lrSchedule: 'cosine',
  lrStepEpochs: 0,
  annealStart: 0,
  annealEnd: 0.9,
  steepness: 10,
  annealCenter: 0.5,
  warmupSteps: 0,
  quantPeriod: 10,
  quantShrink: false,
  rho: 1e-4,
  rhoMax: 1,
  projectEvery: 0,
  seed: 0,
  evalEvery: 1,
} satisfies TrainConfig);

/** A bad configuration value; the message names the field. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The defaults overridden by `partial`, validated. Throws a ConfigError naming the field. */
export function resolveTrainConfig(partial: Partial<TrainConfig> = {}): TrainConfig {
  const defined = Object.fromEntries(
    Object.entries(partial).filter(([, v]) => v !== undefined),
  ) as Partial<TrainConfig>;
  const config: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    hidden: [...DEFAULT_TRAIN_CONFIG.hidden],
    granularity: { ...DEFAULT_TRAIN_CONFIG.granularity },
    ...defined,
  };
  checkTrainConfig(config);
  return config;
}

/** Throws a ConfigError naming the first bad field of `c`. */
export function checkTrainConfig(c: TrainConfig): void {
  const fail = (msg: string): never => {
    throw new ConfigError(msg);
  };
  const oneOf = (what: string, v: unknown, names: readonly string[]) => {
    if (!names.includes(v as string)) {
      fail(`${what}: unknown value '${String(v)}' (expected one of ${names.join(', ')})`);
    }
  };
  const int = (what: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) fail(`${what} must be an integer >= ${min}, got ${v}`);
  };
  const frac = (what: string, v: number) => {
    if (!(v >= 0 && v <= 1)) fail(`${what} must be a fraction in [0, 1], got ${v}`);
  };
  if (typeof c.data !== 'string' || c.data === '') fail('data: give a dataset spec');
  if (typeof c.model !== 'string' || c.model === '') fail('model: give a model name or path');
  oneOf('method', c.method, METHOD_NAMES);
  oneOf('quantizer', c.quantizer, QUANTIZER_NAMES);
  oneOf('optimizer', c.optimizer, OPTIMIZER_NAMES);
  oneOf('lr schedule', c.lrSchedule, LR_SCHEDULE_NAMES);
  if (!Number.isInteger(c.bits) || c.bits < 0 || c.bits > 8) {
    fail(`bits must be an integer in 0..8 (0 = ternary), got ${c.bits}`);
  }
  if (!Array.isArray(c.hidden) || !c.hidden.every((u) => Number.isInteger(u) && u > 0)) {
    fail(`hidden sizes must be positive integers, got ${JSON.stringify(c.hidden)}`);
  }
  checkGranularity(c.granularity);
  int('epochs', c.epochs, 1);
  int('batch size', c.batchSize, 1);
  int('limit-train', c.limitTrain, 0);
  int('limit-test', c.limitTest, 0);
  int('lr step epochs', c.lrStepEpochs, 0);
  int('warmup steps', c.warmupSteps, 0);
  int('quant period', c.quantPeriod, 1);
  int('eval every', c.evalEvery, 0);
  if (c.numClasses !== undefined) int('num classes', c.numClasses, 2);
  if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed > 0xffffffff) {
    fail(`seed must be an integer in 0..4294967295, got ${c.seed}`);
  }
  if (!(c.lr > 0 && Number.isFinite(c.lr))) fail(`lr must be a positive number, got ${c.lr}`);
  if (!(c.momentum >= 0 && c.momentum < 1)) fail(`momentum must be in [0, 1), got ${c.momentum}`);
  frac('anneal start', c.annealStart);
  frac('anneal end', c.annealEnd);
  if (!(c.annealEnd > c.annealStart)) {
    fail(`anneal end (${c.annealEnd}) must be greater than anneal start (${c.annealStart})`);
  }
  if (!(c.steepness > 0 && Number.isFinite(c.steepness))) {
    fail(`steepness must be a positive number, got ${c.steepness}`);
  }
  frac('anneal center', c.annealCenter);
  if (typeof c.quantShrink !== 'boolean') fail('quantShrink must be true or false');
  if (!(c.rho > 0 && Number.isFinite(c.rho))) fail(`rho must be a positive number, got ${c.rho}`);
  if (!(c.rhoMax >= c.rho && Number.isFinite(c.rhoMax))) {
    fail(`rho max (${c.rhoMax}) must be a number >= rho (${c.rho})`);
  }
  int('project every', c.projectEvery, 0);
  if (typeof c.labelColumn !== 'string' || c.labelColumn === '') fail('label column is empty');
}

function checkGranularity(g: Granularity): void {
  const bad = () => {
    throw new ConfigError(
      `granularity: expected per tensor, channel or block, got ${JSON.stringify(g)}`,
    );
  };
  if (typeof g !== 'object' || g === null) bad();
  if (g.kind === 'tensor' || g.kind === 'channel') return;
  if (g.kind !== 'block') bad();
  else if (!Number.isInteger(g.blockSize) || g.blockSize < 1) {
    throw new ConfigError(`block size must be a positive integer, got ${g.blockSize}`);
  }
}

/** Is the method quantization-aware (everything but `fp`)? */
export function isQuantMethod(method: MethodName): boolean {
  return method !== 'fp';
}

/** A short human name of the run's method, e.g. `parq lsbq 2-bit`, `fp`. */
export function describeMethod(c: Pick<TrainConfig, 'method' | 'quantizer' | 'bits'>): string {
  if (!isQuantMethod(c.method)) return 'fp (float)';
  return `${c.method} ${c.quantizer} ${bitsLabel(c.bits)}`;
}

/** `2-bit`, or `ternary` for bits 0. */
export function bitsLabel(bits: number): string {
  return bits === 0 ? 'ternary' : `${bits}-bit`;
}

/** `per tensor`, `per channel`, `blocks of 64`. */
export function describeGranularity(g: Granularity): string {
  if (g.kind === 'tensor') return 'per tensor';
  if (g.kind === 'channel') return 'per channel';
  return `blocks of ${g.blockSize}`;
}

/** Optimizer steps per epoch: the last batch holds the remainder. */
export function stepsPerEpoch(trainSamples: number, batchSize: number): number {
  return Math.ceil(trainSamples / batchSize);
}

/** The anneal window in optimizer steps, from the config's fractions. */
export function annealSteps(c: TrainConfig, totalSteps: number): { start: number; end: number } {
  const start = Math.floor(c.annealStart * totalSteps);
  const end = Math.max(start + 1, Math.floor(c.annealEnd * totalSteps));
  return { start, end };
}
