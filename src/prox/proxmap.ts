/**
 * ProxMap: moves latent weights toward their levels Q, by a schedule over steps.
 * Maps are pure: `apply` returns the new view (or `null` when the weights stay
 * as they are), and the schedule is a plain function of the step number.
 */
import * as tf from '@tensorflow/tfjs';
import { applyProxMode } from './fused-kernel.js';
import type { ProxMode } from './kernel-modes.js';

/**
 * What a map does to the weights at one step, as the fused prox kernel computes it: nothing
 * ('identity'), or one of its modes with its parameter.
 */
export type KernelMode = 'identity' | { mode: ProxMode; param: number };

export abstract class ProxMap {
  abstract readonly className: string;

  /**
   * Map the view `p: [A, M, C]` given levels `Q: [A, k, C]` at `step`. `q` is
   * the quantizer's own hard quantization when Q was just refreshed, else null
   * (the map then takes each weight's nearest level where it needs one).
   * Returns a new tensor, or null when the weights are left unchanged.
   */
  abstract apply(
    p: tf.Tensor3D,
    q: tf.Tensor3D | null,
    Q: tf.Tensor3D,
    step: number,
  ): tf.Tensor3D | null;

  /**
   * What `apply(p, null, Q, step)` computes, as the fused kernel's mode, so that an optimizer
   * may run it in one pass with the base update (src/optim/fused-step.ts); null where it is
   * none of them (the default: a map of one's own is applied as it is written).
   */
  kernelMode(_step: number): KernelMode | null {
    return null;
  }

  /**
   * Does `apply` at `step` use `q` when it is given? The optimizer then asks the quantizer for
   * q with the levels; where it does not, for the levels only (a pass over the weights less).
   * Default true: a map that does not say gets q.
   */
  usesQuantized(_step: number): boolean {
    return true;
  }

  /**
   * The map's inverse slope at `step` (1 = identity, 0 = hard quantization), for
   * weight-decay annealing and reports; `undefined` where the map has none.
   */
  inverseSlope(_step: number): number | undefined {
    return undefined;
  }

  /** Does the map change over the steps (false for STE, the same hard map at every step)? */
  get annealed(): boolean {
    return true;
  }

  /**
   * The map's annealed parameter at `step` in its own terms, for views and logs, e.g.
   * `inverse slope 0.42` (PARQ), `theta 0.3` (BinaryRelax), `hard quantization` (STE).
   */
  describe(step: number): string {
    const inv = this.inverseSlope(step);
    return inv === undefined ? this.className : `inverse slope ${shortNumber(inv)}`;
  }

  getConfig(): Record<string, unknown> {
    return {};
  }
}

/** Three significant digits, without trailing zeros: `0.423`, `1`, `1e-4`. */
export function shortNumber(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** Hard quantization for the view: `q` when given, else the nearest level. */
export function hardQuantize(p: tf.Tensor3D, q: tf.Tensor3D | null, Q: tf.Tensor3D): tf.Tensor3D {
  return q ? tf.clone(q) : applyProxMode(p, Q, 'hard');
}

/**
 * A kernel mode applied to a view: null for 'identity'; hard quantization takes `q` when
 * given (the quantizer's own, on a step that refreshed Q), else the nearest level.
 */
export function applyKernelMode(
  p: tf.Tensor3D,
  q: tf.Tensor3D | null,
  Q: tf.Tensor3D,
  km: KernelMode,
): tf.Tensor3D | null {
  if (km === 'identity') return null;
  if (km.mode === 'hard') return hardQuantize(p, q, Q);
  return applyProxMode(p, Q, km.mode, km.param);
}

/** Straight-through estimation: hard quantization at every step. */
export class ProxHardQuant extends ProxMap {
  readonly className = 'ProxHardQuant';

  apply(p: tf.Tensor3D, q: tf.Tensor3D | null, Q: tf.Tensor3D): tf.Tensor3D {
    return hardQuantize(p, q, Q);
  }

  override kernelMode(): KernelMode {
    return { mode: 'hard', param: 0 };
  }

  override inverseSlope(): number {
    return 0;
  }

  override get annealed(): boolean {
    return false;
  }

  override describe(): string {
    return 'hard quantization';
  }
}
