export * from './qat-optimizer.js';
export * from './inspection.js';
export * from './quant-optimizer.js';
export * from './admm/index.js';
export * from './param-groups.js';
export * from './learning-rate.js';
export * from './fused-base.js';
