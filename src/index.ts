/** parq-ts: quantization-aware training for TensorFlow.js. */
export * from './quant/index.js';
export * from './prox/index.js';
export * from './optim/index.js';
export * from './export/index.js';
export * from './import/index.js';
export * from './train/index.js';
export * from './report/index.js';
export { mlp, type MlpOptions } from './models/mlp.js';
export { lenet5 } from './models/lenet5.js';
export { resnet20 } from './models/resnet20.js';
export { vit, vitTiny, VIT_TINY, type VitOptions } from './models/vit.js';
export {
  ClassToken,
  ClassTokenPool,
  LayerNorm,
  MultiHeadAttention,
  Patchify,
  PositionEmbedding,
  VIT_LAYER_CLASSES,
} from './models/vit-layers.js';
export { LayerSeeds, type Initializer } from './models/init.js';
export type { ModelOptions } from './models/options.js';
export type { Dataset, Split } from './data/types.js';
export { batchOrder, gatherBatch, toTensors } from './data/batches.js';
export {
  mulberry32,
  mixSeed,
  randomInt,
  shuffleInPlace,
  permutation,
  type Rng,
} from './util/random.js';
