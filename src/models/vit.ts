import * as tf from '@tensorflow/tfjs';
import { LayerSeeds } from './init.js';
import { checkOptions, type ModelOptions } from './options.js';
import {
  ClassToken,
  ClassTokenPool,
  LayerNorm,
  MultiHeadAttention,
  Patchify,
  PositionEmbedding,
} from './vit-layers.js';

/** The shape of a vision transformer. */
export interface VitOptions extends ModelOptions {
  /** Side of the square patches; must divide the image height and width. Default 7. */
  patchSize?: number;
  /** Token width. Default 64. */
  width?: number;
  /** Transformer blocks. Default 4. */
  depth?: number;
  /** Attention heads; must divide `width`. Default 4. */
  heads?: number;
  /** Hidden width of each block's MLP, as a multiple of `width`. Default 2. */
  mlpRatio?: number;
}

/** ViT-tiny's defaults: sized to train on 28x28 images in minutes on wasm. */
export const VIT_TINY = { patchSize: 7, width: 64, depth: 4, heads: 4, mlpRatio: 2 } as const;

/** DeiT's LayerNorm epsilon. */
const LN_EPSILON = 1e-6;

/**
 * A vision transformer, DeiT-tiny style (pre-norm blocks, class token, learned position
 * embedding), for any H x W x C image input, by default ViT-tiny (`VIT_TINY`). At 28x28x1 and
 * 10 classes: 16 patches of 7x7 + the class token = 17 tokens of width 64, 4 blocks of 4 heads,
 * MLP 64-128-64: 139,018 parameters.
 *
 * Layers, in order (names are stable, so weight names are `<layer>/<weight>`):
 * - `patchify` (Patchify, no weights) cuts the image into T = (H/p)(W/p) patches of p x p,
 *   row-major, each flattened in (row, column, channel) order: [b, T, p*p*C];
 * - `patch_embed`: Dense p*p*C -> width, kernel [p*p*C, width] + bias: a Conv2D of kernel and
 *   stride p (PyTorch's Conv2d weight [width, C, p, p] permuted to [p, p, C, width], then
 *   reshaped to [p*p*C, width]);
 * - `cls_token` (ClassToken, weight `token` [1, 1, width]) prepends the class token;
 * - `pos_embed` (PositionEmbedding, weight `embedding` [T + 1, width]) adds positions;
 * - per block i = 0..depth-1, with x the running sequence:
 *   `block{i}_norm1` LayerNorm (custom, weights gamma and beta [width]); `block{i}_attn_q`, `_attn_k`, `_attn_v` Dense
 *   width -> width; `block{i}_attn` (MultiHeadAttention, no weights); `block{i}_attn_out` Dense
 *   width -> width; `block{i}_add1`: x + that;
 *   `block{i}_norm2` LayerNorm; `block{i}_mlp_fc1` Dense width -> mlpRatio * width, GELU (erf);
 *   `block{i}_mlp_fc2` Dense back to width; `block{i}_add2`: x + that;
 * - `norm` LayerNorm; `cls_pool` takes the class token; `logits` Dense width -> numClasses
 *   (PyTorch's `head`); `softmax`.
 * Dense kernels are [in, out] (PyTorch's Linear weight transposed); q, k and v are separate
 * layers (timm fuses them into one `qkv` Linear: split its weight in three along dim 0).
 * LayerNorm epsilon 1e-6.
 *
 * QAT: every Dense and Conv kernel (`* /kernel`: patch embedding, q/k/v/output projections,
 * MLP, logits) is quantized; biases, LayerNorm, class token and position embedding stay float.
 * Init (seeded, see LayerSeeds): kernels Glorot-uniform, biases zero, LayerNorm gamma 1 and
 * beta 0, class token and position embedding truncated normal with sd 0.02.
 */
export function vit(opts: VitOptions): tf.LayersModel {
  checkOptions('vit', opts, 3);
  const { patchSize: p, width, depth, heads, mlpRatio } = { ...VIT_TINY, ...definedOnly(opts) };
  const [h, w] = opts.inputShape;
  for (const [what, v] of Object.entries({ patchSize: p, width, depth, heads, mlpRatio })) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`vit: ${what} must be a positive integer, got ${v}`);
    }
  }
  if (h % p !== 0 || w % p !== 0) {
    throw new RangeError(`vit: patch size ${p} does not divide the ${h}x${w} input`);
  }
  if (width % heads !== 0) {
    throw new RangeError(`vit: width ${width} is not a multiple of ${heads} heads`);
  }
  const seeds = new LayerSeeds(opts.seed ?? 0);
  const dense = (name: string, units: number, activation?: 'gelu') =>
    tf.layers.dense({
      name,
      units,
      activation,
      kernelInitializer: seeds.glorotUniform(),
      biasInitializer: 'zeros',
    });
  const norm = (name: string) => new LayerNorm({ name, epsilon: LN_EPSILON });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    layer.apply(x) as tf.SymbolicTensor;

  const input = tf.input({ name: 'input', shape: opts.inputShape });
  let x = apply(
    dense('patch_embed', width),
    apply(new Patchify({ name: 'patchify', patchSize: p }), input),
  );
  x = apply(new ClassToken({ name: 'cls_token', initializer: seeds.truncatedNormal(0.02) }), x);
  x = apply(
    new PositionEmbedding({ name: 'pos_embed', initializer: seeds.truncatedNormal(0.02) }),
    x,
  );
  for (let i = 0; i < depth; i++) {
    const b = `block${i}`;
    const n1 = apply(norm(`${b}_norm1`), x);
    const q = apply(dense(`${b}_attn_q`, width), n1);
    const k = apply(dense(`${b}_attn_k`, width), n1);
    const v = apply(dense(`${b}_attn_v`, width), n1);
    const mixed = apply(new MultiHeadAttention({ name: `${b}_attn`, numHeads: heads }), [q, k, v]);
    const attn = apply(dense(`${b}_attn_out`, width), mixed);
    x = apply(tf.layers.add({ name: `${b}_add1` }), [x, attn]);
    const n2 = apply(norm(`${b}_norm2`), x);
    const hidden = apply(dense(`${b}_mlp_fc1`, mlpRatio * width, 'gelu'), n2);
    const mlpOut = apply(dense(`${b}_mlp_fc2`, width), hidden);
    x = apply(tf.layers.add({ name: `${b}_add2` }), [x, mlpOut]);
  }
  x = apply(new ClassTokenPool({ name: 'cls_pool' }), apply(norm('norm'), x));
  const logits = apply(dense('logits', opts.numClasses), x);
  const output = apply(tf.layers.activation({ name: 'softmax', activation: 'softmax' }), logits);
  return tf.model({ name: 'vit', inputs: input, outputs: output });
}

/** ViT-tiny (`VIT_TINY`) for the given data. */
export function vitTiny(opts: ModelOptions): tf.LayersModel {
  return vit({ ...opts, ...VIT_TINY });
}

function definedOnly(o: VitOptions): Partial<VitOptions> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
