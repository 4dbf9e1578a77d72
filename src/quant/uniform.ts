/**
 * Uniform quantizers: symmetric (mean or max scale), max, asymmetric, ternary.
 * Numerics follow the PyTorch reference (facebookresearch/parq, quant/uniform.py):
 * scales are clamped at the smallest float32, rounding is half to even.
 */
import * as tf from '@tensorflow/tfjs';
import { FLOAT32_TINY, Quantized, Quantizer, QuantizerOptions, scaledLevels } from './quantizer.js';

export type ScaleMethod = 'mean' | 'max';

export interface UnifQuantizerOptions extends QuantizerOptions {
  /** `mean`: range min(b * mean|p|, max|p|); `max`: range max|p|. Default `mean`. */
  scaleMethod?: ScaleMethod;
  /** Integer range is [-2^(b-1) + intShift, 2^(b-1) - intShift]. Default 0.5. */
  intShift?: number;
  /** Shift applied around rounding. Default 0.5. */
  zeroPoint?: number;
}

/** Symmetric range `[-qmax, qmax]` per group from the view. */
function rangeMax(p: tf.Tensor3D, bits: number, method: ScaleMethod): tf.Tensor {
  const absP = tf.abs(p);
  const max = tf.max(absP, 1, true);
  const r = method === 'mean' ? tf.minimum(tf.mul(tf.mean(absP, 1, true), bits), max) : max;
  return tf.maximum(r, FLOAT32_TINY);
}

/** Round half to even, as tf.round and torch.round. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function arange(from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to + 1e-5; v += 1) out.push(v);
  return out;
}

/** Uniform symmetric quantizer: `2^b` levels `(i + 1/2) * s` by default. */
export class UnifQuantizer extends Quantizer {
  readonly className: string = 'UnifQuantizer';
  readonly scaleMethod: ScaleMethod;
  readonly intShift: number;
  readonly zeroPoint: number;

  constructor(options: UnifQuantizerOptions = {}) {
    super(options);
    this.scaleMethod = options.scaleMethod ?? 'mean';
    if (this.scaleMethod !== 'mean' && this.scaleMethod !== 'max') {
      throw new Error(`scaleMethod must be 'mean' or 'max', got '${String(this.scaleMethod)}'`);
    }
    this.intShift = options.intShift ?? 0.5;
    this.zeroPoint = options.zeroPoint ?? 0.5;
  }

  quantSize(bits: number): number {
    return Math.floor(2 ** bits - 2 * this.intShift) + 1;
  }

  override checkBits(bits: number): void {
    super.checkBits(bits);
    if (bits === 0)
      throw new Error(`${this.className} has no ternary mode: use TernaryUnifQuantizer`);
    if (2 ** (bits - 1) - this.intShift <= 0) {
      throw new Error(`${this.className} with intShift ${this.intShift} needs bits >= 2`);
    }
  }

  /** The scale of a centered view, and the largest integer magnitude. */
  private scaleOf(p: tf.Tensor3D, bits: number): { s: tf.Tensor; rangeAbsMax: number } {
    const rangeAbsMax = 2 ** (bits - 1) - this.intShift;
    return { s: tf.div(rangeMax(p, bits, this.scaleMethod), rangeAbsMax), rangeAbsMax };
  }

  /** Q alone: the scale's reductions, none of q's passes over the weights. */
  protected override levelsCentered(p: tf.Tensor3D, bits: number): tf.Tensor3D {
    const { s, rangeAbsMax } = this.scaleOf(p, bits);
    return scaledLevels(arange(-rangeAbsMax, rangeAbsMax), s);
  }

  protected quantizeCentered(p: tf.Tensor3D, bits: number): Quantized {
    const { s, rangeAbsMax } = this.scaleOf(p, bits);
    const zp = this.zeroPoint;
    // The reference clamps p to [-qmax, qmax] first; clamping the integers to
    // where those ends land is the same map, and avoids a broadcast compare.
    const lo = roundHalfEven(-rangeAbsMax - zp) + zp;
    const hi = roundHalfEven(rangeAbsMax - zp) + zp;
    const ints = tf.clipByValue(tf.add(tf.round(tf.sub(tf.div(p, s), zp)), zp), lo, hi);
    const q = tf.mul(ints, s) as tf.Tensor3D;
    return { q, Q: scaledLevels(arange(-rangeAbsMax, rangeAbsMax), s) };
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      scaleMethod: this.scaleMethod,
      intShift: this.intShift,
      zeroPoint: this.zeroPoint,
    };
  }
}

/** Uniform quantizer with `2^b - 1` levels including 0, scaled by max|p|. */
export class MaxUnifQuantizer extends UnifQuantizer {
  override readonly className: string = 'MaxUnifQuantizer';

  constructor(options: UnifQuantizerOptions = {}) {
    super({ scaleMethod: 'max', intShift: 1, zeroPoint: 0, ...options });
  }
}

export interface AsymUnifQuantizerOptions extends QuantizerOptions {
  /**
   * Reproduce the reference's level set `[-2^(b-1), 2^(b-1) - 1] * s`, which
   * ignores the zero point (so q can fall outside Q). Default false: Q is
   * `(round(min/s) + [0, 2^b - 1]) * s`, the values q actually takes.
   */
  referenceCompat?: boolean;
}

/** Asymmetric uniform quantizer: `2^b` levels spanning [min, max] of each group. */
export class AsymUnifQuantizer extends Quantizer {
  readonly className = 'AsymUnifQuantizer';
  readonly referenceCompat: boolean;

  constructor(options: AsymUnifQuantizerOptions = {}) {
    super(options);
    this.referenceCompat = options.referenceCompat ?? false;
  }

  quantSize(bits: number): number {
    return 2 ** bits;
  }

  override checkBits(bits: number): void {
    super.checkBits(bits);
    if (bits === 0)
      throw new Error('AsymUnifQuantizer has no ternary mode: use TernaryUnifQuantizer');
  }

  /** The view's minimum and the scale. */
  private scaleOf(p: tf.Tensor3D, bits: number): { lo: tf.Tensor; s: tf.Tensor } {
    const intMin = -(2 ** (bits - 1));
    const intMax = 2 ** (bits - 1) - 1;
    const lo = tf.min(p, 1, true);
    const s = tf.maximum(tf.div(tf.sub(tf.max(p, 1, true), lo), intMax - intMin), FLOAT32_TINY);
    return { lo, s };
  }

  /** The levels for a scale (and, unless referenceCompat, the zero the minimum rounds to). */
  private levelsOf(lo: tf.Tensor, s: tf.Tensor, bits: number): tf.Tensor3D {
    const intMin = -(2 ** (bits - 1));
    const ints = arange(intMin, 2 ** (bits - 1) - 1);
    if (this.referenceCompat) return scaledLevels(ints, s);
    const zero = tf.round(tf.div(lo, s));
    return tf.mul(
      tf.add(tf.tensor3d(ints, [1, ints.length, 1]), tf.sub(zero, intMin)),
      s,
    ) as tf.Tensor3D;
  }

  protected override levelsCentered(p: tf.Tensor3D, bits: number): tf.Tensor3D {
    const { lo, s } = this.scaleOf(p, bits);
    return this.levelsOf(lo, s, bits);
  }

  protected quantizeCentered(p: tf.Tensor3D, bits: number): Quantized {
    const { lo, s } = this.scaleOf(p, bits);
    const q = tf.mul(tf.round(tf.div(p, s)), s) as tf.Tensor3D;
    return { q, Q: this.levelsOf(lo, s, bits) };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), referenceCompat: this.referenceCompat };
  }
}

/** Uniform ternary quantizer: levels `{-s, 0, s}` with `s = max|p| / 1.5`. Bits must be 0. */
export class TernaryUnifQuantizer extends Quantizer {
  readonly className = 'TernaryUnifQuantizer';

  quantSize(): number {
    return 3;
  }

  override checkBits(bits: number): void {
    if (bits !== 0) throw new Error(`TernaryUnifQuantizer needs bits 0 (ternary), got ${bits}`);
  }

  protected override levelsCentered(p: tf.Tensor3D): tf.Tensor3D {
    return scaledLevels([-1, 0, 1], tf.div(rangeMax(p, 0, 'max'), 1.5));
  }

  protected quantizeCentered(p: tf.Tensor3D): Quantized {
    const s = tf.div(rangeMax(p, 0, 'max'), 1.5);
    const q = tf.mul(tf.clipByValue(tf.round(tf.div(p, s)), -1, 1), s) as tf.Tensor3D;
    return { q, Q: scaledLevels([-1, 0, 1], s) };
  }
}
