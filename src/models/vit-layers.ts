/**
 * The custom tfjs layers of the vision transformer (src/models/vit.ts). tfjs-layers has no
 * attention layer, no class token and no learned position embedding; these are the missing
 * pieces, each a small `tf.layers.Layer` made only of tfjs ops (so gradients, every backend and
 * `tf.tidy` work as for built-in layers), each registered with `tf.serialization` when this
 * module loads, so a model that holds them saves, loads (`tf.loadLayersModel`,
 * `tf.models.modelFromJSON`), checkpoints and exports like any other.
 *
 * The projections (q, k, v, output), the MLP and the patch embedding are ordinary Dense
 * layers beside these, so their kernels are the `* /kernel` weights QAT quantizes;
 * the weights here (`cls_token/token`, `pos_embed/embedding`) stay float.
 */
import * as tf from '@tensorflow/tfjs';
import type { Initializer } from './init.js';

type Shape = (number | null)[];
type Kwargs = Record<string, unknown>;

/**
 * Cuts images into non-overlapping p x p patches, each flattened: [b, H, W, C] ->
 * [b, (H/p)(W/p), p*p*C], patches in row-major order, each patch's values in (row, column,
 * channel) order. A Dense layer on it is a Conv2D of kernel p and stride p whose kernel
 * [p, p, C, out] is reshaped to [p*p*C, out]; as a Dense it trains faster on wasm (no
 * convolution gradients) and is quantized like every other Dense kernel.
 */
export class Patchify extends tf.layers.Layer {
  static className = 'ParqPatchify';
  readonly patchSize: number;

  constructor(args: { name?: string; trainable?: boolean; patchSize: number }) {
    super({ name: args.name, trainable: args.trainable });
    if (!Number.isInteger(args.patchSize) || args.patchSize < 1) {
      throw new RangeError(`Patchify: patchSize must be a positive integer`);
    }
    this.patchSize = args.patchSize;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, h, w, c] = oneShape(inputShape) as number[];
    const p = this.patchSize;
    return [b, (h / p) * (w / p), p * p * c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneInput(inputs);
      const [b, h, w, c] = x.shape;
      const p = this.patchSize;
      if (h % p !== 0 || w % p !== 0) {
        throw new Error(`Patchify '${this.name}': patch ${p} does not divide ${h}x${w} images`);
      }
      // [b * H/p, p, W/p, p*C] -> [b * H/p, W/p, p, p*C]: rank 4 on every backend
      const rows = tf.reshape(x, [b * (h / p), p, w / p, p * c]);
      const patches = tf.transpose(rows, [0, 2, 1, 3]);
      return tf.reshape(patches, [b, (h / p) * (w / p), p * p * c]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), patchSize: this.patchSize };
  }
}

/** Options of the layers holding one learned tensor. */
export interface LearnedTensorArgs {
  name?: string;
  trainable?: boolean;
  /** Initializer of the tensor; after loading a file, the file's values replace it. */
  initializer?: Initializer;
}

function oneInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

function oneShape(shape: Shape | Shape[]): Shape {
  return Array.isArray(shape[0]) ? (shape[0] as Shape) : (shape as Shape);
}

/**
 * Prepends a learned class token to a sequence: [b, T, d] -> [b, T + 1, d]. Weight `token`,
 * shape [1, 1, d] (PyTorch's `cls_token`, same shape).
 */
export class ClassToken extends tf.layers.Layer {
  static className = 'ParqClassToken';
  private token: tf.LayerVariable | null = null;
  private readonly initializer: Initializer | 'zeros';

  constructor(args: LearnedTensorArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
    this.initializer = args.initializer ?? 'zeros';
  }

  override build(inputShape: Shape | Shape[]): void {
    const dim = oneShape(inputShape)[2] as number;
    this.token = this.addWeight('token', [1, 1, dim], 'float32', initializer(this.initializer));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, t, d] = oneShape(inputShape);
    return [b, t === null ? null : t + 1, d];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneInput(inputs);
      const token = (this.token as tf.LayerVariable).read();
      // Broadcast, not tf.tile: tile's gradient is one slice and add per repeat.
      const tokens = tf.mul(tf.ones([x.shape[0], 1, 1]), token);
      return tf.concat([tokens, x], 1);
    });
  }
}

/**
 * Adds a learned position embedding to a sequence: [b, T, d] + embedding [T, d]. Weight
 * `embedding`, shape [T, d] (PyTorch's `pos_embed` is [1, T, d]: the same values).
 */
export class PositionEmbedding extends tf.layers.Layer {
  static className = 'ParqPositionEmbedding';
  private embedding: tf.LayerVariable | null = null;
  private readonly initializer: Initializer | 'zeros';

  constructor(args: LearnedTensorArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
    this.initializer = args.initializer ?? 'zeros';
  }

  override build(inputShape: Shape | Shape[]): void {
    const [, t, d] = oneShape(inputShape);
    this.embedding = this.addWeight(
      'embedding',
      [t as number, d as number],
      'float32',
      initializer(this.initializer),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(oneInput(inputs), (this.embedding as tf.LayerVariable).read()));
  }
}

/** Options of `LayerNorm`. */
export interface LayerNormArgs {
  name?: string;
  trainable?: boolean;
  /** Added to the variance. Default 1e-6 (DeiT's). */
  epsilon?: number;
}

/**
 * Layer normalization over the last axis: (x - mean) / sqrt(var + epsilon) * gamma + beta,
 * the biased variance, as PyTorch's nn.LayerNorm. Weights `gamma` (ones) and `beta` (zeros),
 * shape [d], named as tf.layers.layerNormalization's. Written with broadcasting ops rather
 * than tfjs's layer, whose tiles cost one slice and add per repeated row in the backward pass
 * (10x slower training of the ViT on wasm).
 */
export class LayerNorm extends tf.layers.Layer {
  static className = 'ParqLayerNorm';
  readonly epsilon: number;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;

  constructor(args: LayerNormArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
    this.epsilon = args.epsilon ?? 1e-6;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = oneShape(inputShape);
    const d = shape[shape.length - 1] as number;
    this.gamma = this.addWeight('gamma', [d], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [d], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneInput(inputs);
      const centered = tf.sub(x, tf.mean(x, -1, true));
      const variance = tf.mean(tf.square(centered), -1, true);
      const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, this.epsilon)));
      const gamma = (this.gamma as tf.LayerVariable).read();
      return tf.add(tf.mul(normed, gamma), (this.beta as tf.LayerVariable).read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

/** Options of `MultiHeadAttention`. */
export interface MultiHeadAttentionArgs {
  name?: string;
  trainable?: boolean;
  /** Heads; the model width must be a multiple of it. */
  numHeads: number;
}

/**
 * The weightless core of multi-head self-attention: inputs [q, k, v], each [b, T, d] (the
 * outputs of the q/k/v Dense projections), split into `numHeads` heads of d / numHeads;
 * per head softmax(q k^T / sqrt(d / numHeads)) v; heads concatenated back to [b, T, d] (the
 * input of the output projection). Same order of heads as PyTorch's reshape(b, T, h, d / h).
 */
export class MultiHeadAttention extends tf.layers.Layer {
  static className = 'ParqMultiHeadAttention';
  readonly numHeads: number;

  constructor(args: MultiHeadAttentionArgs) {
    super({ name: args.name, trainable: args.trainable });
    if (!Number.isInteger(args.numHeads) || args.numHeads < 1) {
      throw new RangeError(`MultiHeadAttention: numHeads must be a positive integer`);
    }
    this.numHeads = args.numHeads;
  }

  override build(inputShape: Shape | Shape[]): void {
    const d = oneShape(inputShape)[2] as number;
    if (d % this.numHeads !== 0) {
      throw new RangeError(
        `MultiHeadAttention '${this.name}': width ${d} is not a multiple of ${this.numHeads} heads`,
      );
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs?: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 3) {
        throw new Error(`MultiHeadAttention '${this.name}': expects inputs [q, k, v]`);
      }
      const [b, t, d] = inputs[0].shape;
      const h = this.numHeads;
      const dh = d / h;
      // [b, T, d] -> [b, h, T, dh]
      const heads = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [b, t, h, dh]), [0, 2, 1, 3]);
      const [q, k, v] = inputs.map(heads);
      const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
      const mixed = tf.matMul(tf.softmax(scores, -1), v);
      return tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [b, t, d]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numHeads: this.numHeads };
  }
}

/** The class token's output, the first of the sequence: [b, T, d] -> [b, d]. */
export class ClassTokenPool extends tf.layers.Layer {
  static className = 'ParqClassTokenPool';

  constructor(args: { name?: string; trainable?: boolean } = {}) {
    super({ name: args.name, trainable: args.trainable });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, , d] = oneShape(inputShape);
    return [b, d];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneInput(inputs);
      const [b, , d] = x.shape;
      return tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, d]), [b, d]);
    });
  }
}

function initializer(init: Initializer | 'zeros'): Initializer {
  return init === 'zeros' ? tf.initializers.zeros() : init;
}

/** The classes above, registered once with tf.serialization (idempotent). */
export const VIT_LAYER_CLASSES = [
  Patchify,
  LayerNorm,
  ClassToken,
  PositionEmbedding,
  MultiHeadAttention,
  ClassTokenPool,
] as const;

for (const cls of VIT_LAYER_CLASSES) tf.serialization.registerClass(cls);
