/**
 * The training flags shared by `parq train` and `parq compare`, their parsers (a bad value is
 * a one-line commander error naming the flag), and the mapping to a TrainConfig.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Granularity } from '../quant/grouping.js';
import { QUANTIZER_NAMES, quantizerByName, type QuantizerName } from '../quant/registry.js';
import { methodAvailable } from '../train/build.js';
import {
  checkTrainConfig,
  DEFAULT_TRAIN_CONFIG as D,
  isQuantMethod,
  LR_SCHEDULE_NAMES,
  METHOD_NAMES,
  OPTIMIZER_NAMES,
  type MethodName,
  type TrainConfig,
} from '../train/config.js';
import { BACKEND_NAMES } from './backend-option.js';

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^[+-]?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}`
          : `expected an integer in ${min}..${max}`,
      );
    }
    return n;
  };
}

export function numberArg(check: (n: number) => boolean, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !check(n))
      throw new InvalidArgumentError(`expected ${what}`);
    return n;
  };
}

const fraction = numberArg((n) => n >= 0 && n <= 1, 'a fraction in [0, 1]');
const positive = numberArg((n) => n > 0, 'a positive number');

/** Bits: 1..8, or 0 / `ternary` for ternary. */
export function parseBits(v: string): number {
  const t = v.trim().toLowerCase();
  if (t === 'ternary') return 0;
  if (!/^\d+$/.test(t) || Number(t) > 8) {
    throw new InvalidArgumentError('bits must be 1..8, or 0 / ternary (three levels)');
  }
  return Number(t);
}

/** A comma-separated list, each item parsed by `item`; order and repeats kept (`64,64`). */
export function listArg<T>(item: (v: string) => T, what: string): (v: string) => T[] {
  return (v) => {
    const parts = v.split(',').map((s) => s.trim());
    if (parts.length === 0 || parts.some((p) => p === '')) {
      throw new InvalidArgumentError(`expected a comma-separated list of ${what}`);
    }
    return parts.map(item);
  };
}

/** A comma-separated set: as `listArg`, first occurrences in order, repeats dropped. */
export function setArg<T>(item: (v: string) => T, what: string): (v: string) => T[] {
  const list = listArg(item, what);
  return (v) => [...new Set(list(v))];
}

/** One of `names` (for list items; single values use commander's choices). */
export function choiceArg<T extends string>(names: readonly T[], what: string): (v: string) => T {
  return (v) => {
    if (!(names as readonly string[]).includes(v)) {
      throw new InvalidArgumentError(
        `unknown ${what} '${v}' (expected one of ${names.join(', ')})`,
      );
    }
    return v as T;
  };
}

const hiddenArg = listArg(intArg(1), 'positive integers');

/** Adds the flags of one run (`compare` swaps method/quantizer/bits/seed for lists). */
export function addTrainOptions(cmd: Command, kind: 'train' | 'compare'): Command {
  cmd
    .addOption(
      new Option('--data <spec>', 'dataset: mnist, idx:DIR, cifar10:DIR or csv:FILE').default(
        D.data,
      ),
    )
    .addOption(new Option('--label-column <name>', 'csv: the label column').default(D.labelColumn))
    .addOption(
      new Option('--limit-train <n>', 'train on a fixed random subset of n samples (0 = all)')
        .argParser(intArg(0))
        .default(D.limitTrain),
    )
    .addOption(
      new Option('--limit-test <n>', 'test on a fixed random subset of n samples (0 = all)')
        .argParser(intArg(0))
        .default(D.limitTest),
    )
    .addOption(
      new Option('--model <name>', 'mlp, lenet5, resnet20, or a path to a tfjs model.json').default(
        D.model,
      ),
    )
    .addOption(
      new Option('--hidden <sizes>', 'mlp hidden layer sizes, in order (64,64: two layers)')
        .argParser(hiddenArg)
        .default(D.hidden, D.hidden.join(',')),
    );
  if (kind === 'train') {
    cmd
      .addOption(
        new Option('--method <name>', 'training method').choices(METHOD_NAMES).default(D.method),
      )
      .addOption(
        new Option('--quantizer <name>', 'level quantizer')
          .choices(QUANTIZER_NAMES)
          .default(D.quantizer),
      )
      .addOption(
        new Option('--bits <n>', 'bits of the quantized kernels: 1..8, 0 or ternary')
          .argParser(parseBits)
          .default(D.bits),
      );
  } else {
    cmd
      .addOption(
        new Option('--methods <set>', `methods to compare, a set (${METHOD_NAMES.join(', ')})`)
          .argParser(setArg(choiceArg(METHOD_NAMES, 'method'), 'methods'))
          .default(['fp', 'ste', 'binaryrelax', 'parq'] as MethodName[], 'fp,ste,binaryrelax,parq'),
      )
      .addOption(
        new Option('--quantizers <set>', `quantizers, a set (${QUANTIZER_NAMES.join(', ')})`)
          .argParser(setArg(choiceArg(QUANTIZER_NAMES, 'quantizer'), 'quantizers'))
          .default([D.quantizer] as QuantizerName[], D.quantizer),
      )
      .addOption(
        new Option('--bits <set>', 'bits to compare, a set, e.g. 1,2,ternary')
          .argParser(setArg(parseBits, 'bits'))
          .default([D.bits], String(D.bits)),
      )
      .addOption(
        new Option('--seeds <n>', 'seeds per configuration (seed, seed+1, ...)')
          .argParser(intArg(1, 1000))
          .default(1),
      );
  }
  cmd
    .addOption(new Option('--per-channel', 'one level set per output channel (last axis)'))
    .addOption(
      new Option('--block-size <n>', 'one level set per block of n weights in a channel').argParser(
        intArg(1),
      ),
    )
    .addOption(new Option('--epochs <n>', 'epochs').argParser(intArg(1)).default(D.epochs))
    .addOption(
      new Option('--batch-size <n>', 'batch size').argParser(intArg(1)).default(D.batchSize),
    )
    .addOption(
      new Option('--optimizer <name>', 'base optimizer')
        .choices(OPTIMIZER_NAMES)
        .default(D.optimizer),
    )
    .addOption(new Option('--lr <x>', 'learning rate').argParser(positive).default(D.lr))
    .addOption(
      new Option('--momentum <x>', 'momentum of the momentum optimizer')
        .argParser(numberArg((n) => n >= 0 && n < 1, 'a number in [0, 1)'))
        .default(D.momentum),
    )
    .addOption(
      new Option('--lr-schedule <name>', 'learning rate per step')
        .choices(LR_SCHEDULE_NAMES)
        .default(D.lrSchedule),
    )
    .addOption(
      new Option(
        '--lr-step-epochs <n>',
        'step schedule: lr x0.1 every n epochs (0 = a third of the run)',
      )
        .argParser(intArg(0))
        .default(D.lrStepEpochs),
    )
    .addOption(
      new Option('--anneal-start <frac>', 'start of the prox annealing, fraction of the steps')
        .argParser(fraction)
        .default(D.annealStart),
    )
    .addOption(
      new Option('--anneal-end <frac>', 'end of the prox annealing, fraction of the steps')
        .argParser(fraction)
        .default(D.annealEnd),
    )
    .addOption(
      new Option('--steepness <x>', 'PARQ: steepness of the inverse-slope sigmoid')
        .argParser(positive)
        .default(D.steepness),
    )
    .addOption(
      new Option('--anneal-center <frac>', 'PARQ: center of the sigmoid in the window')
        .argParser(fraction)
        .default(D.annealCenter),
    )
    .addOption(
      new Option('--warmup-steps <n>', 'steps of float training before QAT')
        .argParser(intArg(0))
        .default(D.warmupSteps),
    )
    .addOption(
      new Option('--quant-period <n>', 'refresh the levels every n steps')
        .argParser(intArg(1))
        .default(D.quantPeriod),
    )
    .addOption(new Option('--quant-shrink', 'AProx: quantize w / max(1, cumulative lr)'))
    .addOption(
      new Option('--rho <x>', 'ADMM-Q: penalty rho of the first epoch')
        .argParser(positive)
        .default(D.rho),
    )
    .addOption(
      new Option('--rho-max <x>', 'ADMM-Q: rho of the last epoch (geometric growth)')
        .argParser(positive)
        .default(D.rhoMax),
    )
    .addOption(
      new Option('--project-every <n>', 'ADMM-Q: z and dual updates every n steps (0 = an epoch)')
        .argParser(intArg(0))
        .default(D.projectEvery),
    )
    .addOption(
      new Option(
        '--seed <n>',
        kind === 'train' ? 'seed of the initialization and data order' : 'first seed',
      )
        .argParser(intArg(0, 0xffffffff))
        .default(D.seed),
    )
    .addOption(
      new Option('--eval-every <n>', 'test every n epochs (0 = only at the end)')
        .argParser(intArg(0))
        .default(D.evalEvery),
    )
    .addOption(
      new Option(
        '--num-classes <n>',
        'classes of the model (default: from the labels, which must have no gaps)',
      ).argParser(intArg(2)),
    )
    .addOption(
      new Option('--backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default('wasm'),
    )
    .addOption(
      new Option('--threads <n>', 'wasm backend threads in node (1 = single-threaded SIMD)')
        .argParser(intArg(1, 64))
        .default(1),
    )
    .addOption(new Option('--overwrite', 'replace a run already in --out'))
    .option('-q, --quiet', 'no progress bars and no summary');
  return cmd;
}

/** The options commander parsed for `addTrainOptions`. */
export interface TrainFlags {
  data: string;
  labelColumn: string;
  limitTrain: number;
  limitTest: number;
  model: string;
  hidden: number[];
  method?: MethodName;
  quantizer?: QuantizerName;
  bits: number | number[];
  perChannel?: boolean;
  blockSize?: number;
  epochs: number;
  batchSize: number;
  optimizer: TrainConfig['optimizer'];
  lr: number;
  momentum: number;
  lrSchedule: TrainConfig['lrSchedule'];
  lrStepEpochs: number;
  annealStart: number;
  annealEnd: number;
  steepness: number;
  annealCenter: number;
  warmupSteps: number;
  quantPeriod: number;
  quantShrink?: boolean;
  rho: number;
  rhoMax: number;
  projectEvery: number;
  seed: number;
  evalEvery: number;
  numClasses?: number;
  backend: string;
  threads: number;
  overwrite?: boolean;
  quiet?: boolean;
}

/** The granularity the flags ask for; both flags at once is an error. */
export function granularityFromFlags(f: Pick<TrainFlags, 'perChannel' | 'blockSize'>): Granularity {
  if (f.perChannel && f.blockSize !== undefined) {
    throw new Error(
      '--per-channel and --block-size exclude each other (blocks are inside channels)',
    );
  }
  if (f.blockSize !== undefined) return { kind: 'block', blockSize: f.blockSize };
  if (f.perChannel) return { kind: 'channel' };
  return { kind: 'tensor' };
}

/** The TrainConfig fields the flags set (method, quantizer, bits only for `train`). */
export function configFromFlags(f: TrainFlags): TrainConfig {
  return {
    data: f.data,
    labelColumn: f.labelColumn,
    limitTrain: f.limitTrain,
    limitTest: f.limitTest,
    model: f.model,
    hidden: f.hidden,
    method: f.method ?? D.method,
    quantizer: f.quantizer ?? D.quantizer,
    bits: typeof f.bits === 'number' ? f.bits : D.bits,
    granularity: granularityFromFlags(f),
    epochs: f.epochs,
    batchSize: f.batchSize,
    optimizer: f.optimizer,
    lr: f.lr,
    momentum: f.momentum,
    lrSchedule: f.lrSchedule,
    lrStepEpochs: f.lrStepEpochs,
    annealStart: f.annealStart,
    annealEnd: f.annealEnd,
    steepness: f.steepness,
    annealCenter: f.annealCenter,
    warmupSteps: f.warmupSteps,
    quantPeriod: f.quantPeriod,
    quantShrink: f.quantShrink ?? false,
    rho: f.rho,
    rhoMax: f.rhoMax,
    projectEvery: f.projectEvery,
    seed: f.seed,
    evalEvery: f.evalEvery,
    numClasses: f.numClasses,
  };
}

/** The option keys given on the command line (not defaults). */
export function explicitOptions(cmd: Command): Set<string> {
  const out = new Set<string>();
  for (const key of Object.keys(cmd.opts()))
    if (cmd.getOptionValueSource(key) === 'cli') out.add(key);
  return out;
}

/** Flag spelling of an option key: `batchSize` -> `--batch-size`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Refuses a run that cannot be trained (before any data is read or file written). */
export function checkRunnable(c: TrainConfig, kind: 'train' | 'compare'): void {
  checkTrainConfig(c);
  const unavailable = methodAvailable(c.method);
  if (unavailable) throw new Error(unavailable);
  if (!isQuantMethod(c.method)) return;
  try {
    quantizerByName(c.quantizer, c.bits).checkBits(c.bits);
  } catch (err) {
    const q = kind === 'train' ? '--quantizer' : '--quantizers';
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(`${q} ${c.quantizer} with --bits ${c.bits}: ${detail}`, { cause: err });
  }
}
