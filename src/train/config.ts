/**
 * The configuration of one training run: plain JSON, so it travels in metrics.json and
 * checkpoints, and one validation that names the bad field (the CLI, the playground and the
 * benchmarks all build a `TrainConfig` and call `trainRun`).
 *
 * Every field is declared once, in `TRAIN_FIELDS`: its kind, default, check, help, and where
 * it applies. The `TrainConfig` type, `DEFAULT_TRAIN_CONFIG`, `checkTrainConfig`, the flags of
 * `parq train` / `parq compare` (src/cli/options.ts) and the playground's controls are derived
 * from it. Which methods a field applies to comes from the method table (./methods.ts).
 */
import type { Granularity } from '../quant/grouping.js';
import { QUANTIZER_NAMES, type QuantizerName } from '../quant/registry.js';
import { DEFAULT_ANNEAL_CENTER, DEFAULT_STEEPNESS } from '../prox/parq.js';
import { QAT_DEFAULTS } from '../optim/qat-optimizer.js';
import { QUANT_OPTIMIZER_DEFAULTS } from '../optim/quant-optimizer.js';
import { DEFAULT_RHO } from '../optim/admm/rho.js';
import { formatLayerBits, layerBitsProblem, parseLayerBits, type LayerBits } from './layer-bits.js';
import { annealSteps, METHOD_NAMES, methodSpec, type MethodName } from './methods.js';
import {
  bits,
  choice,
  fieldWords,
  flagSwitch,
  fraction,
  int,
  intList,
  number,
  positive,
  text,
  type Field,
  type FieldValue,
} from './schema.js';

export { annealSteps, METHOD_NAMES, type MethodName };

export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export const LR_SCHEDULE_NAMES = ['cosine', 'step', 'constant'] as const;
export type LrScheduleName = (typeof LR_SCHEDULE_NAMES)[number];

const granularity: Field<Granularity> = {
  kind: 'granularity',
  default: { kind: 'tensor' },
  help: 'which weights share one level set: per tensor, per output channel, or per block',
  check: (g) => granularityProblem(g),
  noFlag: true,
};

const classCount = int({
  default: 2,
  min: 2,
  help: 'classes of the model (default: from the labels, which must have no gaps)',
});
/** Classes of the model (labels 0..n-1, some may be absent); unset: the data's, without gaps. */
const optionalClasses: Field<number | undefined> = {
  ...classCount,
  default: undefined,
  arg: '<n>',
  check: (v, what, c) => (v === undefined ? null : classCount.check(v, what, c)),
};

/**
 * Mixed precision per layer (./layer-bits.ts). Off by default: `undefined`, so that a run
 * without it writes the same metrics.json and checkpoints as before the field existed.
 */
const layerBits: Field<LayerBits | undefined> = {
  kind: 'layer-bits',
  default: undefined,
  arg: '<spec>',
  defaultText: 'off: --bits for every kernel',
  help:
    "bits per layer, first match wins: 'fc1/*=4,logits/*=8,*=2' (wildcards over kernel " +
    'names; a kernel no pattern matches stays float; replaces --bits)',
  check: (v: unknown, what: string) => (v === undefined ? null : layerBitsProblem(v, what)),
  parse: parseLayerBits,
};

/**
 * The fields of a TrainConfig, in the order of `parq train --help`. Defaults reproduce
 * protocol mlp-mnist10k.
 */
export const TRAIN_FIELDS = {
  data: text({
    default: 'mnist',
    help: 'dataset: mnist, fashion-mnist[:DIR], idx:DIR, cifar10:DIR or csv:FILE',
    arg: '<spec>',
    empty: 'data: give a dataset spec',
  }),
  labelColumn: text({
    default: 'label',
    help: 'csv: the label column',
    arg: '<name>',
    empty: 'label column is empty',
    appliesWhen: {
      on: 'data',
      test: (d) => String(d).startsWith('csv:'),
      where: '--data csv:FILE',
    },
  }),
  limitTrain: int({
    default: 0,
    min: 0,
    name: 'limit-train',
    help: 'train on a fixed random subset of n samples (0 = all)',
  }),
  limitTest: int({
    default: 0,
    min: 0,
    name: 'limit-test',
    help: 'test on a fixed random subset of n samples (0 = all)',
  }),
  model: text({
    default: 'mlp',
    help: 'mlp, lenet5, resnet20, vit-tiny, or a path to a tfjs model.json',
    arg: '<name>',
    empty: 'model: give a model name or path',
  }),
  hidden: intList({
    default: [256, 256],
    items: 'positive integers',
    name: 'hidden sizes',
    help: 'mlp hidden layer sizes, in order (64,64: two layers)',
    arg: '<sizes>',
    appliesWhen: { on: 'model', test: (m) => m === 'mlp', where: '--model mlp' },
  }),
  method: choice<MethodName>({
    default: 'parq',
    choices: METHOD_NAMES,
    help: 'training method',
    compare: {
      flag: '--methods',
      help: `methods to compare, a set (${METHOD_NAMES.join(', ')})`,
      default: ['fp', 'ste', 'binaryrelax', 'parq'],
    },
    web: { label: 'method' },
  }),
  quantizer: choice<QuantizerName>({
    default: QAT_DEFAULTS.quantizer,
    choices: QUANTIZER_NAMES,
    help: 'level quantizer',
    compare: {
      flag: '--quantizers',
      help: `quantizers, a set (${QUANTIZER_NAMES.join(', ')})`,
      default: ['lsbq'],
    },
    web: { label: 'quantizer' },
  }),
  bits: bits({
    default: QAT_DEFAULTS.bits,
    help: 'bits of the quantized kernels: 1..8, 0 or ternary (not read with --layer-bits)',
    compare: { flag: '--bits', help: 'bits to compare, a set, e.g. 1,2,ternary', default: [2] },
    web: { label: 'bits' },
  }),
  layerBits,
  granularity,
  epochs: int({ default: 20, min: 1, help: 'epochs', web: { label: 'epochs', min: 1, max: 100 } }),
  batchSize: int({ default: 64, min: 1, help: 'batch size' }),
  optimizer: choice<OptimizerName>({
    default: 'momentum',
    choices: OPTIMIZER_NAMES,
    help: 'base optimizer',
  }),
  lr: number({
    default: 0.05,
    test: positive,
    expected: 'a positive number',
    help: 'learning rate',
    web: { label: 'learning rate', min: 0.001, max: 10, step: 0.005 },
  }),
  momentum: number({
    default: 0.9,
    test: (n) => n >= 0 && n < 1,
    expected: 'a number in [0, 1)',
    help: 'momentum of the momentum optimizer (heavy ball, no dampening)',
    appliesWhen: { on: 'optimizer', test: (o) => o === 'momentum', where: '--optimizer momentum' },
  }),
  lrSchedule: choice<LrScheduleName>({
    default: 'cosine',
    choices: LR_SCHEDULE_NAMES,
    help: 'learning rate per step',
  }),
  lrStepEpochs: int({
    default: 0,
    min: 0,
    help: 'step schedule: lr x0.1 every n epochs (0 = a third of the run)',
    appliesWhen: { on: 'lrSchedule', test: (s) => s === 'step', where: '--lr-schedule step' },
  }),
  annealStart: fraction({
    default: 0,
    help: 'start of the prox annealing, a fraction of all steps',
  }),
  annealEnd: fraction({
    default: 0.9,
    help: 'end of the prox annealing, a fraction of all steps',
    rule: (end, c) =>
      end > (c.annealStart as number)
        ? null
        : `anneal end (${end}) must be greater than anneal start (${String(c.annealStart)})`,
  }),
  steepness: number({
    default: DEFAULT_STEEPNESS,
    test: positive,
    expected: 'a positive number',
    help: 'PARQ: steepness of the inverse-slope sigmoid',
    web: { label: 'steepness', min: 0.1, max: 100, step: 0.5 },
  }),
  annealCenter: fraction({
    default: DEFAULT_ANNEAL_CENTER,
    help: 'PARQ: center of the sigmoid, a fraction of the anneal window',
  }),
  warmupSteps: int({
    default: QAT_DEFAULTS.warmupSteps,
    min: 0,
    help: 'steps of float training before QAT',
  }),
  quantPeriod: int({
    default: QUANT_OPTIMIZER_DEFAULTS.quantPeriod,
    min: 1,
    help: 'refresh the levels every n steps',
  }),
  quantShrink: flagSwitch({
    default: QUANT_OPTIMIZER_DEFAULTS.quantShrink,
    name: 'quantShrink',
    help: 'AProx: quantize w / max(1, cumulative lr)',
  }),
  rho: number({
    default: DEFAULT_RHO,
    test: positive,
    expected: 'a positive number',
    help: 'ADMM-Q: penalty rho of the first epoch',
    web: { label: 'rho', min: 0, step: 'any' },
  }),
  rhoMax: number({
    default: 1,
    test: positive,
    expected: 'a positive number',
    help: 'ADMM-Q: rho of the last epoch (geometric growth, once an epoch)',
    rule: (max, c) =>
      max >= (c.rho as number)
        ? null
        : `rho max (${max}) must be a number >= rho (${String(c.rho)})`,
    web: { label: 'rho max', min: 0, step: 'any' },
  }),
  projectEvery: int({
    default: 0,
    min: 0,
    help: 'ADMM-Q: z and dual updates every n steps (0 = once an epoch)',
  }),
  seed: int({
    default: 0,
    min: 0,
    max: 0xffffffff,
    help: 'seed of the initialization and data order',
    compareHelp: 'first seed',
  }),
  evalEvery: int({ default: 1, min: 0, help: 'test every n epochs (0 = only at the end)' }),
  numClasses: optionalClasses,
} as const;

export type TrainFieldKey = keyof typeof TRAIN_FIELDS;

/** One training run: a value for each of `TRAIN_FIELDS`. */
export type TrainConfig = { -readonly [K in TrainFieldKey]: FieldValue<(typeof TRAIN_FIELDS)[K]> };

/** The field specs, for code that walks them. */
export const TRAIN_FIELD_KEYS = Object.keys(TRAIN_FIELDS) as TrainFieldKey[];

/** A field's spec by key. */
export function trainField(key: TrainFieldKey): Field<unknown> {
  return TRAIN_FIELDS[key] as Field<unknown>;
}

export const DEFAULT_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze(
  Object.fromEntries(TRAIN_FIELD_KEYS.map((k) => [k, TRAIN_FIELDS[k].default])) as TrainConfig,
);

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
  const config: TrainConfig = { ...structuredClone(DEFAULT_TRAIN_CONFIG), ...defined };
  checkTrainConfig(config);
  return config;
}

/** Throws a ConfigError naming the first bad field of `c`. */
export function checkTrainConfig(c: TrainConfig): void {
  const view = c as unknown as Readonly<Record<string, unknown>>;
  for (const key of TRAIN_FIELD_KEYS) {
    const field = trainField(key);
    const problem = field.check(view[key], field.name ?? fieldWords(key), view);
    if (problem !== null) throw new ConfigError(problem);
  }
  for (const key of TRAIN_FIELD_KEYS) {
    const field = trainField(key);
    const problem = field.rule?.(view[key], view) ?? null;
    if (problem !== null) throw new ConfigError(problem);
  }
}

function granularityProblem(g: unknown): string | null {
  const bad = `granularity: expected per tensor, channel or block, got ${JSON.stringify(g)}`;
  if (typeof g !== 'object' || g === null) return bad;
  const { kind, blockSize } = g as { kind?: unknown; blockSize?: unknown };
  if (kind === 'tensor' || kind === 'channel') return null;
  if (kind !== 'block') return bad;
  if (!Number.isInteger(blockSize) || (blockSize as number) < 1) {
    return `block size must be a positive integer, got ${String(blockSize)}`;
  }
  return null;
}

/** Is the method quantization-aware (everything but `fp`)? */
export function isQuantMethod(method: MethodName): boolean {
  return methodSpec(method).qat;
}

/** A short human name of the run's method, e.g. `parq lsbq 2-bit`, `fp`. */
export function describeMethod(
  c: Pick<TrainConfig, 'method' | 'quantizer' | 'bits'> & { layerBits?: LayerBits },
): string {
  if (!isQuantMethod(c.method)) return 'fp (float)';
  if (c.layerBits?.length) return `${c.method} ${c.quantizer} ${formatLayerBits(c.layerBits)}`;
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
