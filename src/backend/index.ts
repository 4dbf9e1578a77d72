// Backend selection and parq-ts's wasm training kernels.
export {
  BACKEND_CHOICES,
  selectBackend,
  type BackendChoice,
  type BackendSelection,
  type SelectBackendOptions,
} from './select.js';
export {
  WASM_FUSED_KERNELS,
  WASM_MISSING_KERNELS,
  WASM_REPLACED_KERNELS,
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
  restoreStockWasmKernels,
} from './wasm/register.js';
export {
  installThreadedWasm,
  threadedWasmThreads,
  type ThreadedWasmSetup,
} from './wasm/threads.js';
