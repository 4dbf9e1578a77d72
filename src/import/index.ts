/** Into parq-ts: safetensors files, and PyTorch / torchao checkpoints of the zoo's models. */
export * from './safetensors.js';
export * from './torch-names.js';
export * from './torchao.js';
export * from './checkpoint.js';
