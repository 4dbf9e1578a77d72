/**
 * parq-ts for Node: everything in the browser-safe root entry, plus what needs
 * Node's file system or native modules: dataset loaders (mnist, idx, cifar10,
 * csv), model files, checkpoints and run folders, and backend selection
 * (wasm with parq-ts's training kernels and threads, tfjs-node, WebGPU through
 * Dawn). Import it as `parq-ts/node`.
 */
export * from './index.js';
export * from './data/index.js';
export {
  MODEL_LOSS,
  MODEL_NAMES,
  buildModel,
  logitsModel,
  resolveModel,
  fileLoadHandler,
  fileSaveHandler,
  loadModelFromFile,
  saveModelToDir,
  MODEL_JSON,
  WEIGHTS_BIN,
  type ModelName,
  type BuildModelOptions,
} from './models/index.js';
export * from './backend/index.js';
export {
  setupWebGPU,
  releaseWebGPU,
  webgpuAdapter,
  type WebGPUOptions,
  type WebGPUSetup,
} from './backend/webgpu.js';
export { writeQuantizedFile, readQuantizedFile, isPackedFile } from './export/files.js';
export * from './train/checkpoint-files.js';
export * from './report/run-folder.js';
