// ADMM-Q: ADMM for quantization, its soft (ADMM-S) and randomized (ADMM-R) variants.
export { ADMMQOptimizer, type ADMMQOptimizerOptions, type ADMMVariant } from './admmq-optimizer.js';
export { softProjection, randomProjection, type SoftNorm, type RandomSkip } from './projection.js';
export { checkRho, rhoAt, type RhoSchedule } from './rho.js';
