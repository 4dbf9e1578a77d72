/// <reference types="node" />
/**
 * Reference models and model files.
 *
 * Conventions shared by every built-in model:
 * - input: one sample of the dataset's `inputShape` (images NHWC [H, W, C], tables [F]);
 * - output: class probabilities. The last two layers are a Dense named `logits` (no
 *   activation) and an Activation named `softmax`, so `logitsModel(model)` gives the logits;
 * - loss: compile with `MODEL_LOSS` ('sparseCategoricalCrossentropy'), labels float32 class
 *   ids [batch] as `gatherBatch` / `toTensors` make them, metric 'acc';
 * - initialization: seeded from `seed` (default 0), layer by layer (see LayerSeeds):
 *   the same seed always gives the same initial weights; biases are zero;
 * - layers have fixed names (fc1, conv1, s2b1_conv1, logits, ...), so weight names
 *   (`weight.originalName`, e.g. 'fc1/kernel') are stable across builds and files.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { lenet5 } from './lenet5.js';
import { loadModelFromFile } from './load.js';
import { mlp, type MlpOptions } from './mlp.js';
import type { ModelOptions } from './options.js';
import { resnet20 } from './resnet20.js';
import { vitTiny } from './vit.js';

export { mlp, type MlpOptions } from './mlp.js';
export { lenet5 } from './lenet5.js';
export { resnet20 } from './resnet20.js';
export { vit, vitTiny, VIT_TINY, type VitOptions } from './vit.js';
export {
  ClassToken,
  ClassTokenPool,
  LayerNorm,
  MultiHeadAttention,
  Patchify,
  PositionEmbedding,
  VIT_LAYER_CLASSES,
} from './vit-layers.js';
export { LayerSeeds, type Initializer } from './init.js';
export type { ModelOptions } from './options.js';
export { fileLoadHandler, fileSaveHandler, MODEL_JSON, WEIGHTS_BIN } from './file-io.js';
export { loadModelFromFile, saveModelToDir } from './load.js';

/** The loss matching the models' softmax output and integer class labels. */
export const MODEL_LOSS = 'sparseCategoricalCrossentropy';

export const MODEL_NAMES = ['mlp', 'lenet5', 'resnet20', 'vit-tiny'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Options of `buildModel`; `hidden` is read by the mlp only. */
export type BuildModelOptions = ModelOptions & Pick<MlpOptions, 'hidden'>;

/** Builds a fresh built-in model by name; throws a RangeError naming the known ones. */
export function buildModel(name: string, opts: BuildModelOptions): tf.LayersModel {
  switch (name) {
    case 'mlp':
      return mlp(opts);
    case 'lenet5':
      return lenet5(opts);
    case 'resnet20':
      return resnet20(opts);
    case 'vit-tiny':
      return vitTiny(opts);
    default:
      throw new RangeError(`unknown model '${name}' (expected one of ${MODEL_NAMES.join(', ')})`);
  }
}

/** The same model without its final softmax: outputs the `logits` layer. Shares weights. */
export function logitsModel(model: tf.LayersModel): tf.LayersModel {
  const logits = model.layers.find((l) => l.name === 'logits');
  if (logits === undefined) throw new Error(`model '${model.name}' has no layer named 'logits'`);
  return tf.model({ inputs: model.inputs, outputs: logits.output as tf.SymbolicTensor });
}

/**
 * A model from a CLI-style spec: a built-in name (built fresh from `opts`), or else a path to
 * a tfjs model.json or its folder (`opts` unused).
 */
export async function resolveModel(spec: string, opts: BuildModelOptions): Promise<tf.LayersModel> {
  if ((MODEL_NAMES as readonly string[]).includes(spec)) return buildModel(spec, opts);
  if (existsSync(spec.replace(/^file:\/\//, ''))) return loadModelFromFile(spec);
  throw new RangeError(
    `unknown model '${spec}' (expected one of ${MODEL_NAMES.join(', ')}, ` +
      `or an existing model.json or folder holding one)`,
  );
}
