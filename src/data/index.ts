// Datasets: raw typed arrays per split, seeded batching, and one loader per source.
export { DataError, sampleSize, countClasses, type Dataset, type Split } from './types.js';
export { mulberry32, mixSeed, randomInt, shuffleInPlace, permutation, type Rng } from './random.js';
export { batchOrder, gatherBatch, toTensors, type LabelOptions } from './batches.js';
