/** parq-ts: quantization-aware training for TensorFlow.js. */
export * from './quant/index.js';
export * from './prox/index.js';
export * from './optim/index.js';
export * from './export/index.js';
export * from './admm/index.js';
export * from './train/index.js';
export * from './report/index.js';
