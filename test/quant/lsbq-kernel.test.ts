// The greedy LSBQ kernel (src/quant/lsbq-kernel.ts) against the composed ops it replaces,
// bit for bit, on cpu and on wasm with parq-ts's exact reductions (where the kernel runs),
// and the cases where it must not run (wasm's stock Mean adds in float32).
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  replaceSlowWasmKernels,
  restoreStockWasmKernels,
} from '../../src/backend/wasm/register.js';
import { greedyComposed } from '../../src/quant/lsbq.js';
import {
  greedyKernel,
  greedyKernelLevels,
  greedyKernelMean,
  greedyLoop,
  type MeanOrder,
} from '../../src/quant/lsbq-kernel.js';
import { LSBQuantizer } from '../../src/index.js';
import { simdKernelsSwitch } from '../../src/backend/wasm/simd/index.js';
import { heavyTailed, normals, rng, useBackend } from '../helpers.js';

const bitsOf = (t: tf.Tensor) => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer));

/** Weights with what breaks a careless kernel: exact zeros, -0, ties, one all-zero group. */
function weights(shape: [number, number, number], seed: number): Float32Array {
  const n = shape[0] * shape[1] * shape[2];
  const x = seed % 2 ? heavyTailed(n, seed) : normals(n, seed, 0.05);
  const r = rng(seed + 7);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.02) x[i] = 0;
    else if (u < 0.04) x[i] = -0;
    else if (u < 0.06) x[i] = x[Math.floor(r() * n)];
  }
  if (shape[0] > 1) x.fill(0, 0, shape[1] * shape[2]); // group a = 0: all zeros
  return x;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [1, 1001, 1],
  [1, 20000, 1],
  [3, 257, 1],
  [1, 301, 3],
  [1, 64, 16],
  [2, 33, 5],
];

afterAll(() => {
  restoreStockWasmKernels();
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`greedy LSBQ kernel on ${backend}`, () => {
    const setUp = async () => {
      await useBackend(backend);
      if (backend === 'wasm') replaceSlowWasmKernels();
    };

    it('runs where it can reproduce the backend Mean', async () => {
      await setUp();
      expect(greedyKernelMean()).toBe(backend === 'cpu' ? 'divide-first' : 'sum-first');
    });

    it('equals the composed ops bit for bit (q and Q), bits 1-4, per tensor and channel', async () => {
      await setUp();
      const order = greedyKernelMean() as MeanOrder;
      let seed = 1;
      for (const shape of SHAPES) {
        const p = tf.tensor3d(weights(shape, seed++), shape);
        for (const bits of [1, 2, 3, 4]) {
          const want = tf.tidy(() => greedyComposed(p, bits));
          const got = greedyKernel(p, bits, order);
          expect(got.q.shape).toEqual(want.q.shape);
          expect(got.Q.shape).toEqual(want.Q.shape);
          expect(bitsOf(got.q), `q ${shape} ${bits} bits`).toEqual(bitsOf(want.q));
          expect(bitsOf(got.Q), `Q ${shape} ${bits} bits`).toEqual(bitsOf(want.Q));
          tf.dispose([want.q, want.Q, got.q, got.Q]);
        }
        p.dispose();
      }
    });

    it('gives the same levels alone (withQ 0: one output, no pass for q)', async () => {
      await setUp();
      const order = greedyKernelMean() as MeanOrder;
      let seed = 21;
      for (const shape of SHAPES) {
        const p = tf.tensor3d(weights(shape, seed++), shape);
        for (const bits of [1, 2, 3]) {
          const both = greedyKernel(p, bits, order);
          const before = tf.memory().numTensors;
          const Q = greedyKernelLevels(p, bits, order);
          expect(tf.memory().numTensors).toBe(before + 1);
          expect(bitsOf(Q), `Q ${shape} ${bits} bits`).toEqual(bitsOf(both.Q));
          tf.dispose([both.q, both.Q, Q]);
        }
        p.dispose();
      }
    });

    if (backend === 'wasm')
      it('runs its passes on the SIMD module (sum4, colsum4, lsbq_q2) to the same bits as in JavaScript', async () => {
        await setUp();
        let seed = 41;
        for (const shape of SHAPES) {
          const p = tf.tensor3d(weights(shape, seed++), shape);
          for (const bits of [1, 2, 3]) {
            const simd = greedyKernel(p, bits, 'sum-first');
            simdKernelsSwitch.enabled = false;
            let js;
            try {
              js = greedyKernel(p, bits, 'sum-first');
            } finally {
              simdKernelsSwitch.enabled = true;
            }
            expect(bitsOf(simd.Q), `Q ${shape} ${bits} bits`).toEqual(bitsOf(js.Q));
            expect(bitsOf(simd.q), `q ${shape} ${bits} bits`).toEqual(bitsOf(js.q));
            tf.dispose([simd.q, simd.Q, js.q, js.Q]);
          }
          p.dispose();
        }
      });

    it('is what LSBQuantizer uses, and leaks no tensor', async () => {
      await setUp();
      const p = tf.tensor3d(weights([1, 5000, 1], 11), [1, 5000, 1]);
      const before = tf.memory().numTensors;
      const { q, Q } = new LSBQuantizer().quantize(p, 2);
      expect(tf.memory().numTensors).toBe(before + 2);
      const want = tf.tidy(() => greedyComposed(p, 2));
      expect(bitsOf(q)).toEqual(bitsOf(want.q));
      expect(bitsOf(Q)).toEqual(bitsOf(want.Q));
      tf.dispose([p, q, Q, want.q, want.Q]);
      if (backend === 'wasm') {
        const heap = (tf.backend() as any).wasm.HEAPU8.length;
        const x = tf.tensor3d(weights([1, 5000, 1], 12), [1, 5000, 1]);
        for (let i = 0; i < 20; i++) tf.dispose(Object.values(new LSBQuantizer().quantize(x, 2)));
        expect((tf.backend() as any).wasm.HEAPU8.length).toBe(heap);
        x.dispose();
      }
    });
  });
}

describe('greedy LSBQ kernel selection', () => {
  it('is not used on wasm with the stock Mean (float32 sums)', async () => {
    await useBackend('wasm');
    restoreStockWasmKernels();
    expect(greedyKernelMean()).toBeNull();
  });

  it('the mean order matters: the other order gives other levels', () => {
    // 3 values whose mean differs by an ulp between the orders (found by search): the test
    // of the kernel above would see a kernel that added in the other order
    const x = new Float32Array([0.00002347910776734352, 0.3946133553981781, 0.2668159604072571]);
    const levels = (order: MeanOrder) => {
      const q = new Float32Array(3);
      const Q = new Float32Array(2);
      greedyLoop(x, [1, 3, 1], 1, order, q, Q);
      return Array.from(Q);
    };
    expect(levels('divide-first')).not.toEqual(levels('sum-first'));
  });
});
