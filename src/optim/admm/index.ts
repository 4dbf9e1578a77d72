// ADMM-Q: ADMM for quantization, its soft (ADMM-S) and randomized (ADMM-R) variants.
export { ADMMQOptimizer, type ADMMQOptimizerOptions, type ADMMVariant } from './admmq-optimizer.js';
export { softProjection, randomProjection, type SoftNorm, type RandomSkip } from './projection.js';
export { checkRho, DEFAULT_RHO, rhoAt, type RhoSchedule } from './rho.js';
