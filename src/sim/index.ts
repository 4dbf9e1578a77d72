// A research simulator of ADMM-Q and PGD on random quadratics (float64, plain JavaScript), for
// bench/admmq.mjs: not part of the library's root API. Import it from 'parq-ts/sim'.
export {
  QuadraticADMM,
  runPGD,
  latticeMinimum,
  latticeRound,
  randomQuadratic,
  quadraticObjective,
  quadraticGradient,
  continuousMinimizer,
  largestEigenvalue,
  gaussian,
  checkProblem,
  checkVariant,
  type QuadraticProblem,
  type QuadraticVariant,
  type RandomQuadraticOptions,
  type RunOptions,
  type RunResult,
  type LatticeMinimum,
} from './quadratic.js';
export {
  choleskyFactor,
  choleskySolve,
  inverseSPD,
  symmetricEigenvalues,
  matVec,
} from './linalg.js';
