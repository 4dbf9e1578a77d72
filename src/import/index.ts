/** Into parq-ts: safetensors files, and PyTorch / torchao checkpoints of the zoo's models. */
export * from './safetensors.js';
