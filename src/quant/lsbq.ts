/**
 * Least-squares binary quantization (LSBQ): levels `sum_i ±v_i`.
 *
 * - greedy b-bit: `v_i = mean |r_{i-1}|`, `r_i = r_{i-1} - sign(r_{i-1}) v_i` (as the reference);
 * - simple ternary (bits 0): levels `{-v, 0, v}`, `v = ternaryMultiplier * mean|p|`;
 * - optimal 2-bit and optimal ternary: the exact least-squares optimum, found by
 *   trying every split of the sorted magnitudes (see optimal-lsbq.ts). Unlike the
 *   reference's per-channel path, this is optimal per channel too.
 */
import * as tf from '@tensorflow/tfjs';
import { maxLevels } from './bit-width.js';
import {
  binarySign,
  Quantized,
  Quantizer,
  QuantizerOptions,
  scaledLevels,
  sortAxis1,
  ternaryAssign,
} from './quantizer.js';
import { optimalTwoBit, optimalTernary, referenceTernary } from './optimal-lsbq.js';
import { greedyKernel, greedyKernelLevels, greedyKernelMean } from './lsbq-kernel.js';

export interface LSBQuantizerOptions extends QuantizerOptions {
  /** Exact optimum for 2 bits and ternary (1 bit is optimal already). Default false. */
  optimal?: boolean;
  /** Simple ternary: `v = ternaryMultiplier * mean|p|`. Default 1.1. */
  ternaryMultiplier?: number;
  /**
   * Reproduce the reference's per-tensor optimal ternary, whose levels are half
   * the optimum's (it searches the right thresholds, then returns `±v/2`). Only
   * for conformance with vectors computed by the reference. Default false.
   */
  referenceCompat?: boolean;
}

export class LSBQuantizer extends Quantizer {
  readonly className = 'LSBQuantizer';
  readonly optimal: boolean;
  readonly ternaryMultiplier: number;
  readonly referenceCompat: boolean;

  constructor(options: LSBQuantizerOptions = {}) {
    super(options);
    this.optimal = options.optimal ?? false;
    this.ternaryMultiplier = options.ternaryMultiplier ?? 1.1;
    this.referenceCompat = options.referenceCompat ?? false;
    if (!(this.ternaryMultiplier > 0)) {
      throw new Error(`ternaryMultiplier must be positive, got ${this.ternaryMultiplier}`);
    }
  }

  quantSize(bits: number): number {
    return maxLevels(bits);
  }

  override checkBits(bits: number): void {
    super.checkBits(bits);
    if (this.optimal && bits > 2) {
      throw new Error(`optimal LSBQ exists for 1 bit, 2 bits and ternary (0), not ${bits} bits`);
    }
  }

  protected quantizeCentered(p: tf.Tensor3D, bits: number): Quantized {
    if (this.optimal && bits === 2) return optimalTwoBit(p);
    if (this.optimal && bits === 0) {
      const perTensor = p.shape[0] === 1 && p.shape[2] === 1;
      return this.referenceCompat && perTensor ? referenceTernary(p) : optimalTernary(p);
    }
    if (bits === 0) return simpleTernary(p, this.ternaryMultiplier);
    return greedy(p, bits);
  }

  /** Greedy LSBQ on the kernel skips q's pass; everything else as quantizeCentered. */
  protected override levelsCentered(p: tf.Tensor3D, bits: number): tf.Tensor3D {
    if (this.optimal || bits === 0) return super.levelsCentered(p, bits);
    const order = greedyOrder(p);
    return order ? greedyKernelLevels(p, bits, order) : greedyComposed(p, bits).Q;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      optimal: this.optimal,
      ternaryMultiplier: this.ternaryMultiplier,
      referenceCompat: this.referenceCompat,
    };
  }
}

/** The kernel's mean order where it can reproduce the backend's Mean (bit for bit), else null. */
function greedyOrder(p: tf.Tensor3D) {
  return p.dtype === 'float32' && p.shape[1] > 0 ? greedyKernelMean() : null;
}

function greedy(p: tf.Tensor3D, bits: number): Quantized {
  // one kernel where the backend's Mean can be reproduced (the same values bit for bit)
  const order = greedyOrder(p);
  if (order) return greedyKernel(p, bits, order);
  return greedyComposed(p, bits);
}

/** Greedy LSBQ from tfjs ops (every backend; the kernel's reference in tests). */
export function greedyComposed(p: tf.Tensor3D, bits: number): Quantized {
  // q is accumulated from the same signed terms, in the same order, as the
  // levels, so every quantized weight equals its level bit for bit (the
  // reference's p - r agrees only up to rounding).
  let r: tf.Tensor = p;
  let q: tf.Tensor = tf.zerosLike(p);
  let levels: tf.Tensor = tf.zerosLike(tf.mean(p, 1, true));
  for (let i = 0; i < bits; i++) {
    const v = tf.mean(tf.abs(r), 1, true);
    const step = tf.mul(binarySign(r), v);
    r = tf.sub(r, step);
    q = tf.add(q, step);
    levels = tf.concat([tf.add(levels, tf.neg(v)), tf.add(levels, v)], 1);
  }
  return { q: q as tf.Tensor3D, Q: sortAxis1(levels as tf.Tensor3D) };
}

function simpleTernary(p: tf.Tensor3D, multiplier: number): Quantized {
  const v = tf.mul(tf.mean(tf.abs(p), 1, true), multiplier);
  return { q: ternaryAssign(p, v), Q: scaledLevels([-1, 0, 1], v) };
}
