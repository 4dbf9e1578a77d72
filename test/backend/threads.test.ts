// The threaded SIMD wasm build in Node: selectBackend('wasm', { threads: 2 }) loads it with
// two threads, and the training kernels give the cpu backend's gradients on it.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/select.js';
import { installThreadedWasm, threadedWasmThreads } from '../../src/backend/wasm/threads.js';
import { fusedStepRuns } from '../../src/optim/fused-step.js';
import { ProxPARQ, QuantOptimizer } from '../../src/index.js';
import { expectSameOnCpuAndWasm, randomArray } from './compare.js';

describe('threaded wasm', () => {
  it('runs the wasm backend with 2 threads', async () => {
    expect(await selectBackend('wasm', { threads: 2 })).toEqual({ backend: 'wasm' });
    expect(threadedWasmThreads()).toBe(2);
    expect(getThreadsCount()).toBe(2);
  });

  it('computes the conv2d gradients of cpu', async () => {
    const xv = randomArray(4 * 16 * 16 * 8, 1);
    const fv = randomArray(3 * 3 * 8 * 16, 2);
    await expectSameOnCpuAndWasm(() =>
      tf.grads((x: tf.Tensor, f: tf.Tensor) =>
        tf
          .conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same')
          .square()
          .sum(),
      )([tf.tensor4d(xv, [4, 16, 16, 8]), tf.tensor4d(fv, [3, 3, 8, 16])]),
    );
  });

  it('QAT steps composed there: the fused step stands aside (its SIMD module cannot import a shared heap)', async () => {
    await selectBackend('wasm', { threads: 2 });
    expect(fusedStepRuns()).toBe(false);
    const w = tf.variable(tf.tensor2d(randomArray(40 * 30, 3), [40, 30]));
    const before = w.dataSync().slice();
    const opt = new QuantOptimizer({
      base: tf.train.momentum(0.05, 0.9),
      prox: new ProxPARQ({ annealStart: 0, annealEnd: 10 }),
      groups: [{ variables: [w], bits: 2 }],
    });
    for (let i = 0; i < 3; i++) opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, false, [w]);
    expect(Array.from(w.dataSync())).not.toEqual(Array.from(before));
    opt.dispose();
    w.dispose();
  });

  it('cannot change the thread count once the backend is up', async () => {
    expect(await installThreadedWasm(4)).toEqual({
      ok: false,
      reason: 'the wasm backend is initialized already',
    });
    const r = await selectBackend('wasm', { threads: 4 });
    expect(r.backend).toBe('wasm');
    expect(r.notice).toMatch(/^wasm: 4 threads not available \(.+\), using 2$/);
    expect(getThreadsCount()).toBe(2);
  });
});
