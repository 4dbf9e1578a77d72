/**
 * Soft quantization: inside each interval between levels, an S-shaped map whose
 * temperature grows from `tStart` to `tEnd` (as `frac^tPower`) between
 * `annealStart` and `annealEnd`, sharpening into hard quantization.
 */
import * as tf from '@tensorflow/tfjs';
import { bracketLevels } from './levels.js';
import { hardQuantize, ProxMap } from './proxmap.js';
import { annealFraction, checkAnneal } from './schedules.js';

export interface ProxSoftQuantOptions {
  annealStart: number;
  annealEnd: number;
  /** Default 1. */
  tStart?: number;
  /** Default 1000. */
  tEnd?: number;
  /** Default 1. */
  tPower?: number;
}

export class ProxSoftQuant extends ProxMap {
  readonly className = 'ProxSoftQuant';
  readonly annealStart: number;
  readonly annealEnd: number;
  readonly tStart: number;
  readonly tEnd: number;
  readonly tPower: number;

  constructor(options: ProxSoftQuantOptions) {
    super();
    checkAnneal(options.annealStart, options.annealEnd, 'ProxSoftQuant');
    this.annealStart = options.annealStart;
    this.annealEnd = options.annealEnd;
    this.tStart = options.tStart ?? 1;
    this.tEnd = options.tEnd ?? 1000;
    this.tPower = options.tPower ?? 1;
    if (!(this.tStart < this.tEnd)) throw new Error('ProxSoftQuant: tStart must be below tEnd');
    if (!(this.tPower > 0)) throw new Error('ProxSoftQuant: tPower must be positive');
  }

  /** The sigmoid temperature at `step` (inside the annealing window). */
  temperature(step: number): number {
    const frac = annealFraction(step, this.annealStart, this.annealEnd);
    return this.tStart + frac ** this.tPower * (this.tEnd - this.tStart);
  }

  apply(p: tf.Tensor3D, q: tf.Tensor3D | null, Q: tf.Tensor3D, step: number): tf.Tensor3D | null {
    if (step < this.annealStart) return null;
    if (step >= this.annealEnd) return hardQuantize(p, q, Q);
    const temp = this.temperature(step);
    const s2 = 1 / (1 + Math.exp(-0.5 * temp));
    return tf.tidy(() => {
      const { lower, upper } = bracketLevels(p, Q);
      const clamped = tf.minimum(tf.maximum(p, lower), upper);
      const width = tf.sub(upper, lower);
      const frac = tf.div(tf.sub(clamped, lower), tf.add(width, 1e-12));
      const sx = tf.sigmoid(tf.mul(tf.sub(frac, 0.5), temp));
      const norm = tf.div(tf.sub(sx, 0.5), s2 - 0.5);
      const center = tf.mul(tf.add(upper, lower), 0.5);
      return tf.add(center, tf.mul(tf.mul(width, 0.5), norm)) as tf.Tensor3D;
    });
  }

  override getConfig(): Record<string, unknown> {
    return {
      annealStart: this.annealStart,
      annealEnd: this.annealEnd,
      tStart: this.tStart,
      tEnd: this.tEnd,
      tPower: this.tPower,
    };
  }
}
