/**
 * Quantizer: turns weights into a level set Q and their quantized values q.
 *
 * A quantizer works on a group view `[A, M, C]` (see grouping.ts): every one of
 * the `A * C` groups of `M` weights gets its own ascending levels, returned as
 * `Q: [A, k, C]`. `q` has the view's shape. Quantizers never modify their input;
 * moving the weights is the prox map's job.
 */
import * as tf from '@tensorflow/tfjs';

/** The quantized view and its levels. */
export type Quantized = {
  /** Quantized weights, the view's shape `[A, M, C]`. */
  q: tf.Tensor3D;
  /** Ascending levels `[A, k, C]`. */
  Q: tf.Tensor3D;
};

export interface QuantizerOptions {
  /** Subtract each group's mean before quantizing and add it back after. */
  center?: boolean;
}

/** Smallest positive normal float32, the floor of every scale (as the reference clamps). */
export const FLOAT32_TINY = 1.1754943508222875e-38;

/** Bits are 1..8, or 0 for ternary. */
export function checkBits(bits: number, what = 'bits'): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > 8) {
    throw new Error(`${what} must be an integer in 0..8 (0 = ternary), got ${bits}`);
  }
}

export abstract class Quantizer {
  /** Name used in configs and the CLI. */
  abstract readonly className: string;
  readonly center: boolean;

  constructor(options: QuantizerOptions = {}) {
    this.center = options.center ?? false;
  }

  /** Number of levels for `bits` (0 = ternary). */
  abstract quantSize(bits: number): number;

  /** Throws if this quantizer cannot produce `bits`. */
  checkBits(bits: number): void {
    checkBits(bits);
  }

  /** Quantize a view `[A, M, C]`; returns new tensors, the caller owns them. */
  quantize(p: tf.Tensor3D, bits: number): Quantized {
    this.checkBits(bits);
    return tf.tidy(() => {
      if (!this.center) return this.quantizeCentered(p, bits);
      const mean = tf.mean(p, 1, true);
      const { q, Q } = this.quantizeCentered(tf.sub(p, mean), bits);
      return { q: tf.add(q, mean) as tf.Tensor3D, Q: tf.add(Q, mean) as tf.Tensor3D };
    });
  }

  /** The levels Q of `quantize` alone (the same values), where q is not needed. */
  levels(p: tf.Tensor3D, bits: number): tf.Tensor3D {
    this.checkBits(bits);
    return tf.tidy(() => {
      if (!this.center) return this.levelsCentered(p, bits);
      const mean = tf.mean(p, 1, true);
      return tf.add(this.levelsCentered(tf.sub(p, mean), bits), mean) as tf.Tensor3D;
    });
  }

  /** The quantizer proper, on an already centered view (inside a tidy). */
  protected abstract quantizeCentered(p: tf.Tensor3D, bits: number): Quantized;

  /** The levels of `quantizeCentered` (inside a tidy); a quantizer may skip q here. */
  protected levelsCentered(p: tf.Tensor3D, bits: number): tf.Tensor3D {
    return this.quantizeCentered(p, bits).Q;
  }

  /** Serializable options (the constructor's argument). */
  getConfig(): Record<string, unknown> {
    return { center: this.center };
  }
}

/** `sign(x)` with 0 mapped to +1, as a float tensor: `1 - 2 step(-x)`. */
export function binarySign(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(1, tf.mul(tf.step(tf.neg(x)), 2)));
}

/**
 * `[x > t]` as 0/1 floats, for a view `x: [A, M, C]` and per-group `t: [A, 1, C]`.
 * `step(x - t)` is exact (a float difference is positive iff x > t) and, unlike
 * tfjs's comparison ops, broadcasts on the wasm backend's fast path.
 */
export function isAbove(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.step(tf.sub(x, t)));
}

/** Sort a view `[A, M, C]` along axis 1, ascending. */
export function sortAxis1(x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [a, m, c] = x.shape;
    if (m === 1) return tf.clone(x);
    const rows = tf.reshape(tf.transpose(x, [0, 2, 1]), [a * c, m]);
    const desc = tf.topk(rows, m, true).values;
    const asc = tf.reverse(desc, 1);
    return tf.transpose(tf.reshape(asc, [a, c, m]), [0, 2, 1]) as tf.Tensor3D;
  });
}

/** Levels `values * scale` broadcast to `[A, k, C]` from a JS list and a scale `[A, 1, C]`. */
export function scaledLevels(values: number[], scale: tf.Tensor): tf.Tensor3D {
  return tf.mul(tf.tensor3d(values, [1, values.length, 1]), scale) as tf.Tensor3D;
}

/** Nearest of `{-v, 0, v}`: `p <= -v/2 -> -v`, `p > v/2 -> v`, else 0 (reference boundaries). */
export function ternaryAssign(p: tf.Tensor3D, v: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const half = tf.mul(v, 0.5);
    const up = isAbove(p, half);
    const down = tf.sub(1, isAbove(p, tf.neg(half))); // p <= -v/2
    return tf.mul(tf.sub(up, down), v) as tf.Tensor3D;
  });
}
