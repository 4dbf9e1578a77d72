import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/** Switch to a backend for a test file. */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  await tf.setBackend(name);
  await tf.ready();
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normals(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

/** Student-t-like heavy tails: normal / sqrt(uniform). */
export function heavyTailed(n: number, seed: number): Float32Array {
  const z = normals(n, seed);
  const r = rng(seed + 1);
  return z.map((v) => v / Math.sqrt(Math.max(r(), 1e-3)));
}

export const distinct = (xs: ArrayLike<number>): number => new Set(Array.from(xs)).size;

/** Counts the calls of kernel `name` (on any backend) while `f` runs. */
export async function countKernel<T>(
  name: string,
  f: () => Promise<T>,
): Promise<{ result: T; calls: number }> {
  const engine = tf.engine();
  const runKernel = engine.runKernel.bind(engine);
  let calls = 0;
  engine.runKernel = ((kernel: string, ...rest: unknown[]) => {
    if (kernel === name) calls++;
    return (runKernel as (...a: unknown[]) => unknown)(kernel, ...rest);
  }) as typeof engine.runKernel;
  try {
    return { result: await f(), calls };
  } finally {
    engine.runKernel = runKernel;
  }
}
