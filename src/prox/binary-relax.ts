/**
 * BinaryRelax: a convex combination of the weights and their hard quantization,
 * whose weight on the quantization grows linearly from 0 at `annealStart` to 1
 * at `annealEnd`.
 */
import * as tf from '@tensorflow/tfjs';
import { applyKernelMode, type KernelMode, ProxMap, shortNumber } from './proxmap.js';
import { annealFraction, checkAnneal } from './schedules.js';

export interface ProxBinaryRelaxOptions {
  annealStart: number;
  annealEnd: number;
}

export class ProxBinaryRelax extends ProxMap {
  readonly className = 'ProxBinaryRelax';
  readonly annealStart: number;
  readonly annealEnd: number;

  constructor(options: ProxBinaryRelaxOptions) {
    super();
    checkAnneal(options.annealStart, options.annealEnd, 'ProxBinaryRelax');
    this.annealStart = options.annealStart;
    this.annealEnd = options.annealEnd;
  }

  /** `1 - theta`, the weight left on the latent weights. */
  /** `theta`, the weight on the quantization. */
  override describe(step: number): string {
    return `theta ${shortNumber(1 - this.inverseSlope(step))}`;
  }

  override inverseSlope(step: number): number {
    if (step < this.annealStart) return 1;
    if (step >= this.annealEnd) return 0;
    return 1 - annealFraction(step, this.annealStart, this.annealEnd);
  }

  override usesQuantized(step: number): boolean {
    return step >= this.annealStart;
  }

  /** With the nearest level (no q): nothing before annealStart, hard quantization from annealEnd. */
  override kernelMode(step: number): KernelMode {
    if (step < this.annealStart) return 'identity';
    if (step >= this.annealEnd) return { mode: 'hard', param: 0 };
    return { mode: 'relax', param: annealFraction(step, this.annealStart, this.annealEnd) };
  }

  apply(p: tf.Tensor3D, q: tf.Tensor3D | null, Q: tf.Tensor3D, step: number): tf.Tensor3D | null {
    const km = this.kernelMode(step);
    if (!q || km === 'identity' || km.mode !== 'relax') return applyKernelMode(p, q, Q, km);
    // just refreshed: the combination with the quantizer's own q
    const theta = km.param;
    return tf.tidy(() => tf.add(tf.mul(p, 1 - theta), tf.mul(q, theta)) as tf.Tensor3D);
  }

  override getConfig(): Record<string, unknown> {
    return { annealStart: this.annealStart, annealEnd: this.annealEnd };
  }
}
