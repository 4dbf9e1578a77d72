// Ties: weights exactly on a level and exactly on a midpoint between two levels. On every
// backend with the fused prox kernel (cpu, wasm: its JS and SIMD bodies; webgpu where an
// adapter exists, else skipped with a notice), every prox map equals the composed tfjs ops and
// the reference's rule: torch.bucketize(right=False) counts the bounds strictly below a weight,
// so a weight on a midpoint takes the lower level, and a weight on a level sits in the interval
// that ends at it.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupWebGPU } from '../../src/backend/webgpu.js';
import { applyProxMode, composedProx, type ProxMode } from '../../src/prox/fused-kernel.js';
import { rng } from '../helpers.js';

const f32 = Math.fround;

/** The reference's rule, in float32 as torch computes it, for one group of ascending levels. */
function referenceMap(v: number, lv: number[], mode: ProxMode, param: number): number {
  const k = lv.length;
  if (mode === 'hard' || mode === 'relax') {
    const mids = lv.slice(0, -1).map((l, t) => f32(f32(l + lv[t + 1]) / 2));
    const q = lv[mids.filter((m) => m < v).length];
    return mode === 'hard' ? q : f32(f32(v * f32(1 - param)) + f32(q * f32(param)));
  }
  const idx = lv.filter((l) => l < v).length;
  const lo = lv[Math.max(idx - 1, 0)];
  const up = lv[Math.min(idx, k - 1)];
  const c = f32(f32(lo + up) / 2); // torch: (Q[lower] + Q[upper]) / 2 in float32
  if (mode === 'parq') return Math.min(Math.max(c + f32(v - c) / f32(param), lo), up);
  const clamped = Math.min(Math.max(v, lo), up);
  const width = up - lo;
  const frac = (clamped - lo) / (width + 1e-12);
  const s = 1 / (1 + Math.exp(-(frac - 0.5) * param));
  const norm = (s - 0.5) / (1 / (1 + Math.exp(-0.5 * param)) - 0.5);
  return c + (width / 2) * norm;
}

/** Levels of `groups` groups of k, and weights on every level, midpoint, and one ulp beside. */
function tieCase(k: number, groups: number, seed: number) {
  const r = rng(seed);
  const levels: number[][] = [];
  const weights: number[][] = [];
  for (let g = 0; g < groups; g++) {
    const lv = Array.from({ length: k }, () => f32((r() - 0.5) * 2)).sort((a, b) => a - b);
    const mids = lv.slice(0, -1).map((l, t) => f32(f32(l + lv[t + 1]) / 2));
    const ulp = (x: number) => Math.max(Math.abs(x) * 2 ** -23, 2 ** -126);
    const ws = [...lv, ...mids].flatMap((x) => [x, f32(x + ulp(x)), f32(x - ulp(x))]);
    weights.push([...ws, f32(lv[0] - 1), f32(lv[k - 1] + 1), 0]);
    levels.push(lv);
  }
  return { levels, weights, m: weights[0].length };
}

const MODES: [ProxMode, number][] = [
  ['hard', 0],
  ['relax', 0.3],
  ['parq', 0.25],
  ['parq', 1e-7],
  ['soft', 40],
];

async function checkBackend(backend: string): Promise<void> {
  await tf.setBackend(backend);
  for (const k of [2, 3, 4, 8]) {
    for (const groups of [1, 5]) {
      const { levels, weights, m } = tieCase(k, groups, k * 10 + groups);
      // per tensor: [groups, m, 1] (contiguous groups); per channel: [1, m, groups] (lanes)
      for (const layout of ['rows', 'lanes'] as const) {
        const x =
          layout === 'rows'
            ? tf.tensor3d(weights.flat(), [groups, m, 1])
            : tf.transpose(tf.tensor3d(weights.flat(), [1, groups, m]), [0, 2, 1]);
        const Q =
          layout === 'rows'
            ? tf.tensor3d(levels.flat(), [groups, k, 1])
            : tf.transpose(tf.tensor3d(levels.flat(), [1, groups, k]), [0, 2, 1]);
        for (const [mode, param] of MODES) {
          const what = `${backend} ${mode}(${param}) k=${k} groups=${groups} ${layout}`;
          const fused = applyProxMode(x as tf.Tensor3D, Q as tf.Tensor3D, mode, param);
          const composed = composedProx(x as tf.Tensor3D, Q as tf.Tensor3D, mode, param);
          const toRows = (t: tf.Tensor) =>
            layout === 'rows'
              ? t.reshape([groups, m])
              : tf.transpose(t, [0, 2, 1]).reshape([groups, m]);
          const a = (await toRows(fused).array()) as number[][];
          const b = (await toRows(composed).array()) as number[][];
          tf.dispose([fused, composed]);
          for (let g = 0; g < groups; g++) {
            const scale = Math.max(...levels[g].map(Math.abs), 1);
            for (let i = 0; i < m; i++) {
              const ref = referenceMap(weights[g][i], levels[g], mode, param);
              const at = `${what}: weight ${weights[g][i]} (group ${g}, #${i})`;
              if (mode === 'hard' || mode === 'relax') {
                // a level choice: bit for bit, fused, composed and the reference
                expect(a[g][i], at).toBe(b[g][i]);
                expect(a[g][i], at).toBe(ref);
              } else {
                // continuous maps computed in a different order: a few ulps of the levels, times
                // the map's slope (up to ~10 for SoftQuant at t = 40), far below a level's width
                const tol = (mode === 'soft' ? 4e-6 : 4e-7) * scale;
                expect(Math.abs(a[g][i] - b[g][i]), at).toBeLessThanOrEqual(tol);
                expect(Math.abs(a[g][i] - ref), at).toBeLessThanOrEqual(tol);
              }
            }
          }
        }
        tf.dispose([x, Q]);
      }
    }
  }
}

describe('prox maps at ties (levels and midpoints)', () => {
  let webgpu: string | null = null;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    const setup = await setupWebGPU();
    webgpu = setup.ok ? null : setup.reason;
    await tf.setBackend('cpu');
  });

  it('cpu: the fused kernel equals the composed ops and the reference rule', async () => {
    await checkBackend('cpu');
  });

  it('wasm (JS and SIMD bodies): the same', async () => {
    await checkBackend('wasm');
  });

  it('webgpu (WGSL body): the same, where an adapter exists', async (ctx) => {
    if (webgpu !== null) {
      console.warn(`ties on webgpu skipped: ${webgpu}`);
      ctx.skip();
    }
    await checkBackend('webgpu');
  });
});
