/**
 * The Stretched uniform quantizer of torchao (torchao.prototype.parq, `StretchedUnifTorchaoQuantizer`
 * with `choose_qparams_stretched_affine` / `quantize_stretched_affine`), which torchao uses for 2
 * and 3 bits. Per group of weights `w`, at `b` bits:
 *
 *     m     = max(min(b * mean|w|, max|w|), eps)          eps = float32 machine epsilon, 2^-23
 *     s     = m / (2^(b-1) - 1/2)
 *     code  = round(clamp(w, -m, m) / s - 1/2)             round half to even; code in [-2^(b-1), 2^(b-1) - 1]
 *     q     = (code + 1/2) * s
 *
 * so the `2^b` levels are `(i + 1/2) * s`, i = -2^(b-1) .. 2^(b-1) - 1: `±(2^(b-1) - 1/2) * s` at the
 * ends, "stretched" to reach the range `m`. torchao stores `code` (int8), `s` and the zero point
 * `-1/2`, and dequantizes `(code - zero_point) * s`; {@link stretchedCodes} gives those numbers.
 *
 * The levels are those of {@link UnifQuantizer} with the mean scale; the differences are the floor of
 * the range (torchao's `eps`, not the smallest float32) and that the integer codes and their
 * affine parameters are part of the contract, which the ONNX exporter and torchao import rely on.
 */
import * as tf from '@tensorflow/tfjs';
import { Quantized, Quantizer, QuantizerOptions, scaledLevels } from './quantizer.js';

/** torchao's default floor of the range: `torch.finfo(torch.float32).eps`. */
export const FLOAT32_EPS = 2 ** -23;

/** The zero point torchao stores for every Stretched group: levels are `(code + 1/2) * s`. */
export const STRETCHED_ZERO_POINT = -0.5;

/** The integer codes `[-2^(b-1), 2^(b-1) - 1]` of the Stretched levels at `bits`. */
export function stretchedCodeRange(bits: number): [number, number] {
  return [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
}

/** What torchao stores for a Stretched group view: int codes, per-group scale, zero point -1/2. */
export interface StretchedCodes {
  /** Integer codes, the view's shape `[A, M, C]` (float32 tensor of integers). */
  codes: tf.Tensor3D;
  /** Per-group scale `[A, 1, C]`. */
  scale: tf.Tensor3D;
}

export interface StretchedQuantizerOptions extends QuantizerOptions {
  /** Floor of the range `m`. Default {@link FLOAT32_EPS}, as torchao. */
  eps?: number;
}

/** The range `m` and scale `s` of each group of a view `[A, M, C]` (inside a tidy). */
function rangeAndScale(p: tf.Tensor3D, bits: number, eps: number): [tf.Tensor, tf.Tensor] {
  const absP = tf.abs(p);
  const m = tf.maximum(
    tf.minimum(tf.mul(tf.mean(absP, 1, true), bits), tf.max(absP, 1, true)),
    eps,
  );
  return [m, tf.div(m, 2 ** (bits - 1) - 0.5)];
}

/** Codes of a view: `round(clamp(w, -m, m) / s - 1/2)` (inside a tidy). */
function codesOf(p: tf.Tensor3D, m: tf.Tensor, s: tf.Tensor): tf.Tensor3D {
  // clamp(w, -m, m) with a per-group m: min(max(w, -m), m), which broadcasts on every backend.
  const clamped = tf.minimum(tf.maximum(p, tf.neg(m)), m);
  return tf.round(tf.sub(tf.div(clamped, s), 0.5)) as tf.Tensor3D;
}

/** The levels `(i + 1/2) s` over the code range of `bits`. */
function stretchedLevels(s: tf.Tensor, bits: number): tf.Tensor3D {
  const [lo, hi] = stretchedCodeRange(bits);
  const levels: number[] = [];
  for (let i = lo; i <= hi; i++) levels.push(i + 0.5);
  return scaledLevels(levels, s);
}

/** torchao's Stretched uniform quantizer: `2^b` levels `(i + 1/2) * s` reaching `min(b mean|w|, max|w|)`. */
export class StretchedUnifQuantizer extends Quantizer {
  readonly className = 'StretchedUnifQuantizer';
  readonly eps: number;

  constructor(options: StretchedQuantizerOptions = {}) {
    super(options);
    this.eps = options.eps ?? FLOAT32_EPS;
    if (!(this.eps > 0) || !Number.isFinite(this.eps)) {
      throw new Error(`StretchedUnifQuantizer: eps must be a positive number, got ${this.eps}`);
    }
  }

  quantSize(bits: number): number {
    return 2 ** bits;
  }

  override checkBits(bits: number): void {
    super.checkBits(bits);
    if (bits === 0) {
      throw new Error('StretchedUnifQuantizer has no ternary mode: use TernaryUnifQuantizer');
    }
  }

  protected quantizeCentered(p: tf.Tensor3D, bits: number): Quantized {
    const [m, s] = rangeAndScale(p, bits, this.eps);
    const q = tf.mul(tf.add(codesOf(p, m, s), 0.5), s) as tf.Tensor3D;
    return { q, Q: stretchedLevels(s, bits) };
  }

  /** Q alone: the scale's reductions, without the codes' passes. */
  protected override levelsCentered(p: tf.Tensor3D, bits: number): tf.Tensor3D {
    return stretchedLevels(rangeAndScale(p, bits, this.eps)[1], bits);
  }

  /**
   * torchao's stored form of a view (not centered): integer codes and per-group scales; the zero
   * point is {@link STRETCHED_ZERO_POINT}. The caller owns the tensors.
   */
  stretchedCodes(p: tf.Tensor3D, bits: number): StretchedCodes {
    this.checkBits(bits);
    return tf.tidy(() => {
      const [m, s] = rangeAndScale(p, bits, this.eps);
      return { codes: codesOf(p, m, s), scale: s as tf.Tensor3D };
    });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), eps: this.eps };
  }
}
