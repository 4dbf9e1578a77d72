/**
 * Relaxed SIMD where the runtime keeps it behind a flag. parq-ts's wasm kernels have a
 * relaxed-SIMD build (fused multiply-adds in the convolutions' GEMM loops: ResNet-20 trains
 * ~1.2x faster, docs/wasm-kernels.md) that runs wherever the runtime validates it: V8 11.4 on
 * (Chrome and Edge 114+, Node 22+) has relaxed SIMD on; Node 20's V8 (11.3) implements it
 * behind `--experimental-wasm-relaxed-simd`, which `enableRelaxedSimd` turns on for the
 * process (a V8 flag: it applies to every module compiled after it, none compiled before).
 * Node only: a browser has the feature or has not.
 */
import { nodeVersion } from '../../util/runtime.js';
import { forgetUncompiledModules, relaxedSimdCompiles } from './simd/index.js';

const V8_FLAG = '--experimental-wasm-relaxed-simd';

export type RelaxedSimdSetup = { ok: true; flag: boolean } | { ok: false; reason: string };

/**
 * Makes relaxed SIMD available to parq-ts's modules: `{ ok: true, flag: false }` where the
 * runtime has it on, `flag: true` where this call turned Node's V8 flag on for it, else
 * `{ ok: false, reason }` (not Node, or a V8 that does not know the flag).
 */
export async function enableRelaxedSimd(): Promise<RelaxedSimdSetup> {
  if (relaxedSimdCompiles()) return { ok: true, flag: false };
  const node = nodeVersion();
  if (node === undefined) return { ok: false, reason: 'this runtime has no relaxed SIMD' };
  const v8 = await import('node:v8');
  v8.setFlagsFromString(V8_FLAG);
  forgetUncompiledModules();
  if (relaxedSimdCompiles()) return { ok: true, flag: true };
  return { ok: false, reason: `Node ${node} has no relaxed SIMD (not even with ${V8_FLAG})` };
}
