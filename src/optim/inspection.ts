/**
 * What every QAT optimizer shows to the code around it: the training loop, the reports, the
 * exporter and the playground read an optimizer through this interface only, and never ask
 * which kind of optimizer they hold.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ProxMap } from '../prox/proxmap.js';
import type { Quantizer } from '../quant/quantizer.js';
import type { ResolvedEntry } from './param-groups.js';

/** The value a method anneals over the steps: PARQ's inverse slope, ADMM-Q's rho. */
export interface QatSchedule {
  /** How reports name it: `inverse slope`, `rho`. */
  readonly name: string;
  /** Its short identifier, the field an epoch record stores it in: `inverseSlope`, `rho`. */
  readonly key: 'inverseSlope' | 'rho';
  /** The value at a (0-based) step; undefined where the method has none. */
  at(step: number): number | undefined;
  /** False when the value is the same at every step (STE), so no curve is worth drawing. */
  readonly varies: boolean;
}

export interface QatInspection {
  /** Steps taken (warmup included). */
  readonly step: number;
  /** The quantized variables, resolved at the first step (empty before). */
  readonly quantizedEntries: readonly ResolvedEntry[];
  /** The default quantizer of the groups (each entry has its own, usually this one). */
  readonly quantizer: Quantizer;
  /** The current levels of a quantized variable as `[groups, k]` rows (a new tensor), or null. */
  getLevels(variable: string | { name: string }): tf.Tensor2D | null;
  /**
   * The full-precision weights the optimizer keeps beside the model's (PARQ's latent weights,
   * ADMM-Q's z); not a copy: don't dispose. Null before QAT starts.
   */
  getShadow(variable: string | { name: string }): tf.Tensor | null;
  /** What the shadow weights are called: `latent`, `z`. */
  readonly shadowName: string;
  /** The annealed value of the method, or undefined when it has none. */
  readonly schedule: QatSchedule | undefined;
  /** The default prox map the method applies; undefined where it projects instead (ADMM-Q). */
  readonly prox: ProxMap | undefined;
}

/** Marks the optimizers that implement QatInspection (tf.Optimizer overrides `instanceof`). */
export const QAT_OPTIMIZER = Symbol.for('parq-ts.QatOptimizer');

/** `optimizer` as a QAT optimizer, or null for a plain tf.Optimizer. */
export function qatInspection(optimizer: unknown): QatInspection | null {
  const o = optimizer as { [QAT_OPTIMIZER]?: boolean } | null | undefined;
  return o?.[QAT_OPTIMIZER] === true ? (optimizer as QatInspection) : null;
}
