/**
 * PARQ's proximal map: piecewise affine between consecutive levels, with slope
 * `1 / invSlope` around each interval's center, clamped to the interval. The
 * inverse slope anneals from 1 (identity) to 0 (hard quantization) by the
 * normalized mirror sigmoid between `annealStart` and `annealEnd`.
 */
import * as tf from '@tensorflow/tfjs';
import { applyKernelMode, type KernelMode, ProxMap } from './proxmap.js';
import { checkAnneal, normalizedMirrorSigmoid } from './schedules.js';
import { FLOAT32_TINY } from '../quant/quantizer.js';

/** The sigmoid's steepness and center when not given (also the training config's defaults). */
export const DEFAULT_STEEPNESS = 10;
export const DEFAULT_ANNEAL_CENTER = 0.5;

export interface ProxPARQOptions {
  annealStart: number;
  annealEnd: number;
  /** Sigmoid steepness, > 0. Default 10. */
  steepness?: number;
  /** Center of the sigmoid as a fraction of the annealing window. Default 0.5. */
  annealCenter?: number;
}

export class ProxPARQ extends ProxMap {
  readonly className = 'ProxPARQ';
  readonly annealStart: number;
  readonly annealEnd: number;
  readonly steepness: number;
  readonly annealCenter: number;

  constructor(options: ProxPARQOptions) {
    super();
    checkAnneal(options.annealStart, options.annealEnd, 'ProxPARQ');
    this.annealStart = options.annealStart;
    this.annealEnd = options.annealEnd;
    this.steepness = options.steepness ?? DEFAULT_STEEPNESS;
    this.annealCenter = options.annealCenter ?? DEFAULT_ANNEAL_CENTER;
    if (!(this.steepness > 0))
      throw new Error(`ProxPARQ: steepness must be positive, got ${this.steepness}`);
  }

  override inverseSlope(step: number): number {
    if (step < this.annealStart) return 1;
    if (step >= this.annealEnd) return 0;
    const s = normalizedMirrorSigmoid(
      step,
      this.annealStart,
      this.annealEnd,
      this.steepness,
      this.annealCenter,
    );
    return Math.max(FLOAT32_TINY, s);
  }

  /** q only once the map is hard (inverse slope 0): the PARQ kernel needs the levels alone. */
  override usesQuantized(step: number): boolean {
    return step >= this.annealStart && this.inverseSlope(step) === 0;
  }

  /** Nothing before annealStart; hard quantization once the inverse slope is 0. */
  override kernelMode(step: number): KernelMode {
    if (step < this.annealStart) return 'identity';
    const invSlope = this.inverseSlope(step);
    return invSlope === 0 ? { mode: 'hard', param: 0 } : { mode: 'parq', param: invSlope };
  }

  apply(p: tf.Tensor3D, q: tf.Tensor3D | null, Q: tf.Tensor3D, step: number): tf.Tensor3D | null {
    return applyKernelMode(p, q, Q, this.kernelMode(step));
  }

  override getConfig(): Record<string, unknown> {
    return {
      annealStart: this.annealStart,
      annealEnd: this.annealEnd,
      steepness: this.steepness,
      annealCenter: this.annealCenter,
    };
  }
}
