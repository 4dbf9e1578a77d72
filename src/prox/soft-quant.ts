/**
 * Soft quantization: inside each interval between levels, an S-shaped map whose
 * temperature grows from `tStart` to `tEnd` (as `frac^tPower`) between
 * `annealStart` and `annealEnd`, sharpening into hard quantization.
 */
import * as tf from '@tensorflow/tfjs';
import { applyKernelMode, type KernelMode, ProxMap, shortNumber } from './proxmap.js';
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

  override describe(step: number): string {
    return step >= this.annealEnd
      ? 'hard quantization'
      : `temperature ${shortNumber(this.temperature(step))}`;
  }

  /** The sigmoid temperature at `step` (inside the annealing window). */
  temperature(step: number): number {
    const frac = annealFraction(step, this.annealStart, this.annealEnd);
    return this.tStart + frac ** this.tPower * (this.tEnd - this.tStart);
  }

  override usesQuantized(step: number): boolean {
    return step >= this.annealEnd;
  }

  /** Nothing before annealStart; hard quantization from annealEnd. */
  override kernelMode(step: number): KernelMode {
    if (step < this.annealStart) return 'identity';
    if (step >= this.annealEnd) return { mode: 'hard', param: 0 };
    return { mode: 'soft', param: this.temperature(step) };
  }

  apply(p: tf.Tensor3D, q: tf.Tensor3D | null, Q: tf.Tensor3D, step: number): tf.Tensor3D | null {
    return applyKernelMode(p, q, Q, this.kernelMode(step));
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
