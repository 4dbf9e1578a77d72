// Helpers for the backend tests: seeded random data, running the same computation on the
// cpu and wasm backends, and comparing the results.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/** Deterministic uniform [-1, 1) floats (mulberry32). */
export function randomArray(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** Runs `f` with `backend` active and returns its result(s) as plain arrays. */
export async function runOn(
  backend: 'cpu' | 'wasm',
  f: () => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const results = tf.tidy(() => {
    const r = f();
    return Array.isArray(r) ? r : [r];
  });
  const values = results.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(results);
  return values;
}

/**
 * Asserts |actual - expected| <= rtol * max(|expected|, rms(expected)) elementwise: relative
 * error, floored at the tensor's RMS so entries that cancel to ~0 are not held to 0 error.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol = 1e-4,
): void {
  expect(actual.length).toBe(expected.length);
  let sq = 0;
  for (let i = 0; i < expected.length; i++) sq += expected[i] * expected[i];
  const rms = Math.sqrt(sq / Math.max(1, expected.length));
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), rms, 1e-30);
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  if (!(worst <= rtol)) {
    throw new Error(
      `relative error ${worst.toExponential(2)} > ${rtol} at ${worstAt}: ` +
        `${actual[worstAt]} vs ${expected[worstAt]} (rms ${rms.toExponential(2)})`,
    );
  }
}

/** Runs `f` on cpu and wasm and compares every output. */
export async function expectSameOnCpuAndWasm(
  f: () => tf.Tensor | tf.Tensor[],
  rtol = 1e-4,
): Promise<void> {
  const cpu = await runOn('cpu', f);
  const wasm = await runOn('wasm', f);
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((c, i) => expectClose(wasm[i], c, rtol));
}
