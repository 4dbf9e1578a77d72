/**
 * The method table: every training method `parq train --method` knows, in one row each: its
 * name and label, its help text, the config fields it reads beyond those every run reads, and
 * the optimizer it builds (for the prox methods: from their prox map). The config schema, the
 * builder, the CLI and the playground all read this table; adding a prox map is its file,
 * one row here, and its kernel mode if it has one.
 *
 * Browser-safe. Imports only types from ./config.js (the schema reads the names from here).
 */
import * as tf from '@tensorflow/tfjs';
import { ADMMQOptimizer } from '../optim/admm/admmq-optimizer.js';
import { FusedBaseOptimizer } from '../optim/fused-base.js';
import type { RhoSchedule } from '../optim/admm/rho.js';
import type { LrSchedule } from '../optim/learning-rate.js';
import type { ParamGroup } from '../optim/param-groups.js';
import { QuantOptimizer } from '../optim/quant-optimizer.js';
import { ProxBinaryRelax } from '../prox/binary-relax.js';
import { ProxPARQ } from '../prox/parq.js';
import { ProxHardQuant, type ProxMap } from '../prox/proxmap.js';
import { ProxSoftQuant } from '../prox/soft-quant.js';
import type { Quantizer } from '../quant/quantizer.js';
import type { TrainConfig } from './config.js';

/** What a method's optimizer is built from (the builder makes these for every method). */
export interface MethodContext {
  /** The base (latent-weight) optimizer of the config. */
  base: tf.Optimizer;
  /** The learning rate per step. */
  schedule: LrSchedule;
  /** The run's quantizer (built once, from the config's name and bits). */
  quantizer: Quantizer;
  /** The quantized parameter groups of the config. */
  groups: ParamGroup[];
  /** Optimizer steps in the whole run, and in one epoch. */
  totalSteps: number;
  stepsPerEpoch: number;
}

/** Training methods: float, or QAT with one prox map (admmq: ADMM-Q); one row each below. */
export type MethodName = 'fp' | 'ste' | 'parq' | 'binaryrelax' | 'softquant' | 'admmq';

/** One training method. */
export interface MethodSpec {
  readonly name: MethodName;
  /** Its name for people, e.g. `PARQ`. */
  readonly label: string;
  /** One line for `--help` and the playground's tooltip. */
  readonly help: string;
  /** Quantization-aware (everything but float training)? */
  readonly qat: boolean;
  /**
   * The config fields it reads that not every method reads; a field listed by some method
   * applies to exactly the methods that list it (the CLI refuses it given to another).
   */
  readonly reads: readonly (keyof TrainConfig)[];
  /** The prox map of a prox method, with its anneal window in steps; absent otherwise. */
  readonly prox?: (c: TrainConfig, totalSteps: number) => ProxMap;
  /** The optimizer `minimize` is called on. */
  readonly optimizer: (c: TrainConfig, ctx: MethodContext) => tf.Optimizer;
}

/** What every QAT method reads. */
const QAT_FIELDS = ['quantizer', 'bits', 'layerBits', 'granularity', 'warmupSteps'] as const;
/** What every prox method (a QuantOptimizer) reads besides. */
const PROX_FIELDS = [...QAT_FIELDS, 'quantPeriod', 'quantShrink'] as const;
/** The anneal window, as fractions of all steps. */
const ANNEAL_FIELDS = ['annealStart', 'annealEnd'] as const;

/** A prox method: a QuantOptimizer stepping its latent weights through the prox map. */
function proxMethod(
  row: Omit<MethodSpec, 'name' | 'qat' | 'optimizer' | 'prox'> & {
    prox: (c: TrainConfig, totalSteps: number) => ProxMap;
  },
): Omit<MethodSpec, 'name'> {
  return {
    ...row,
    qat: true,
    optimizer: (c, ctx) =>
      new QuantOptimizer({
        base: ctx.base,
        quantizer: ctx.quantizer,
        prox: row.prox(c, ctx.totalSteps),
        groups: ctx.groups,
        granularity: c.granularity,
        warmupSteps: c.warmupSteps,
        quantPeriod: c.quantPeriod,
        quantShrink: c.quantShrink,
        lrSchedule: ctx.schedule,
      }),
  };
}

/** The anneal window in optimizer steps, from the config's fractions of all steps. */
export function annealSteps(
  c: Pick<TrainConfig, 'annealStart' | 'annealEnd'>,
  totalSteps: number,
): { start: number; end: number } {
  const start = Math.floor(c.annealStart * totalSteps);
  const end = Math.max(start + 1, Math.floor(c.annealEnd * totalSteps));
  return { start, end };
}

/**
 * ADMM-Q's penalty: geometric growth once an epoch from `rho` (first epoch) to `rhoMax`
 * (last epoch), as bench/admmq-mnist.mjs.
 */
export function rhoScheduleForConfig(c: TrainConfig, stepsPerEpoch: number): RhoSchedule {
  if (c.epochs <= 1 || c.rhoMax === c.rho) return { kind: 'constant', rho: c.rho };
  const factor = (c.rhoMax / c.rho) ** (1 / (c.epochs - 1));
  return { kind: 'geometric', rho: c.rho, factor, every: stepsPerEpoch, max: c.rhoMax };
}

/** The rows, by name: every name has exactly one (the type says so). */
const ROWS: { readonly [K in MethodName]: Omit<MethodSpec, 'name'> } = {
  fp: {
    label: 'fp (float, no QAT)',
    help: 'float training, nothing quantized (the baseline)',
    qat: false,
    reads: [],
    // the base's own update, one kernel a variable where the fused step runs (the same bits)
    optimizer: (_c, ctx) => new FusedBaseOptimizer(ctx.base),
  },
  ste: proxMethod({
    label: 'STE (hard quantization)',
    help: 'straight-through estimation: hard quantization at every step',
    reads: PROX_FIELDS,
    prox: () => new ProxHardQuant(),
  }),
  parq: proxMethod({
    label: 'PARQ',
    help: 'PARQ: piecewise-affine prox map, its inverse slope annealed by a sigmoid',
    reads: [...PROX_FIELDS, ...ANNEAL_FIELDS, 'steepness', 'annealCenter'],
    prox: (c, totalSteps) => {
      const { start, end } = annealSteps(c, totalSteps);
      return new ProxPARQ({
        annealStart: start,
        annealEnd: end,
        steepness: c.steepness,
        annealCenter: c.annealCenter,
      });
    },
  }),
  binaryrelax: proxMethod({
    label: 'BinaryRelax',
    help: 'BinaryRelax: weights and their quantization mixed, the mix annealed linearly',
    reads: [...PROX_FIELDS, ...ANNEAL_FIELDS],
    prox: (c, totalSteps) => {
      const { start, end } = annealSteps(c, totalSteps);
      return new ProxBinaryRelax({ annealStart: start, annealEnd: end });
    },
  }),
  softquant: proxMethod({
    label: 'SoftQuant',
    help: 'SoftQuant: a sigmoid between levels whose temperature grows to hard quantization',
    reads: [...PROX_FIELDS, ...ANNEAL_FIELDS],
    prox: (c, totalSteps) => {
      const { start, end } = annealSteps(c, totalSteps);
      return new ProxSoftQuant({ annealStart: start, annealEnd: end });
    },
  }),
  admmq: {
    label: 'ADMM-Q',
    help: 'ADMM-Q: weights pulled toward a quantized copy z by a growing penalty rho',
    qat: true,
    reads: [...QAT_FIELDS, 'rho', 'rhoMax', 'projectEvery'],
    optimizer: (c, ctx) =>
      new ADMMQOptimizer({
        base: ctx.base,
        quantizer: ctx.quantizer,
        groups: ctx.groups,
        granularity: c.granularity,
        rho: rhoScheduleForConfig(c, ctx.stepsPerEpoch),
        projectEvery: c.projectEvery > 0 ? c.projectEvery : ctx.stepsPerEpoch,
        warmupSteps: c.warmupSteps,
        totalSteps: ctx.totalSteps,
        lrSchedule: ctx.schedule,
        seed: c.seed,
      }),
  },
};

/** The method table, in the order of `--help` and the playground's menu. */
export const METHODS: readonly MethodSpec[] = (Object.keys(ROWS) as MethodName[]).map((name) => ({
  name,
  ...ROWS[name],
}));

export const METHOD_NAMES: readonly MethodName[] = METHODS.map((m) => m.name);

/** The table's row of `name`; throws naming the known methods for an unknown one. */
export function methodSpec(name: string): MethodSpec {
  const row = METHODS.find((m) => m.name === name);
  if (!row) throw new Error(`unknown method '${name}' (known: ${METHOD_NAMES.join(', ')})`);
  return row;
}

/**
 * The methods that read `field`, or null when it is not method-specific (every method reads
 * it: no row lists it).
 */
export function methodsReading(field: string): MethodName[] | null {
  const rows = METHODS.filter((m) => (m.reads as readonly string[]).includes(field));
  return rows.length === 0 ? null : rows.map((m) => m.name);
}
