export * from './grouping.js';
export * from './quantizer.js';
export * from './uniform.js';
export * from './stretched.js';
export * from './lsbq.js';
export { optimalTwoBit, optimalTernary } from './optimal-lsbq.js';
export * from './registry.js';
export * from './functional.js';
export * from './levels.js';
export {
  maxLevels,
  indexBits,
  isTernary,
  packedIndexBytes,
  TRITS_PER_BYTE,
  type TernaryPacking,
} from './bit-width.js';
