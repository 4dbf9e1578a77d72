export * from './quant-optimizer.js';
export * from './param-groups.js';
export * from './learning-rate.js';
