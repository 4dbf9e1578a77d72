// Datasets: raw typed arrays per split, seeded batching, and one loader per source.
export { DataError, sampleSize, countClasses, type Dataset, type Split } from './types.js';
export { batchOrder, gatherBatch, toTensors, type LabelOptions } from './batches.js';
export { loadMnist } from './mnist.js';
export {
  loadFashionMnist,
  findFashionMnist,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEBIAN_DIR,
  FASHION_MNIST_ENV,
} from './fashion-mnist.js';
export { loadIdx, parseIdxImages, parseIdxLabels, IDX_FILES, type IdxImages } from './idx.js';
export {
  loadCifar10,
  parseCifarBatch,
  CIFAR10_CLASSES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
} from './cifar10.js';
export { loadCsv, parseCsv, type CsvOptions } from './csv.js';
export { readDataFile, readBytes, type DataFile } from './files.js';
export { loadDataset, DEFAULT_DATASET, DATASET_SPECS, type LoadDatasetOptions } from './load.js';
