// Backend selection and parq-ts's wasm training kernels.
export {
  BACKEND_CHOICES,
  SIMD_CHOICES,
  selectBackend,
  type BackendChoice,
  type BackendSelection,
  type SelectBackendOptions,
  type SimdChoice,
} from './select.js';
export { wasmSimdInUse } from './wasm/simd/index.js';
export { enableRelaxedSimd, type RelaxedSimdSetup } from './wasm/relaxed-simd-flag.js';
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
