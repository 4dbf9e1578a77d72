export * from './proxmap.js';
export * from './parq.js';
export * from './binary-relax.js';
export * from './soft-quant.js';
export * from './schedules.js';
export * from './registry.js';
export * from './functional.js';
export {
  PROX_KERNEL,
  type ProxMode,
  proxLoop,
  registerProxKernels,
  composedProx,
  applyProxMode,
} from './fused-kernel.js';
