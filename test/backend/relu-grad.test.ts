// The fused ReLU gradient (src/backend/relu-grad.ts, wasm kernel in
// src/backend/wasm/relu-grad.ts): tf.grad of relu on wasm goes through the one kernel and
// equals tfjs's composition (dy * step(x)) on the cpu backend, value for value, including
// NaN, signed zeros and sizes that are not a multiple of 4, with and without SIMD; the
// kernel leaks nothing, and other backends keep tfjs's composition.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { RELU_GRAD } from '../../src/backend/relu-grad.js';
import type { BackendWasm } from '../../src/backend/wasm/kernel-utils.js';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
} from '../../src/backend/wasm/register.js';
import { simdKernelsSwitch } from '../../src/backend/wasm/simd/index.js';
import { randomArray, runOn } from './compare.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  replaceSlowWasmKernels();
});

/** x and dy with NaN, +-0, +-Infinity among random values. */
function inputs(n: number, seed: number): [Float32Array, Float32Array] {
  const x = randomArray(n, seed);
  const dy = randomArray(n, seed + 1);
  const specials = [NaN, 0, -0, Infinity, -Infinity];
  for (let i = 0; i < Math.min(n, 10); i++) {
    x[(i * 7) % n] = specials[i % 5];
    dy[(i * 5 + 3) % n] = specials[(i + 2) % 5];
  }
  return [x, dy];
}

const gradOfRelu = (x: Float32Array, dy: Float32Array) => () =>
  tf.grad((t: tf.Tensor) => tf.relu(t))(tf.tensor1d(x), tf.tensor1d(dy));

describe('the ReLU gradient on wasm (fused)', () => {
  for (const simd of [true, false]) {
    for (const n of [1, 4, 7, 64, 1001]) {
      it(`equals tfjs's dy * step(x) on cpu, ${simd ? 'SIMD' : 'JavaScript'}, ${n} values`, async () => {
        const [x, dy] = inputs(n, n);
        const cpu = await runOn('cpu', gradOfRelu(x, dy));
        simdKernelsSwitch.enabled = simd;
        try {
          const wasm = await runOn('wasm', gradOfRelu(x, dy));
          // exactly: NaN where cpu has NaN, the same signed zeros (Object.is tells -0 from 0)
          const differ = [...wasm[0]].flatMap((v, i) => (Object.is(v, cpu[0][i]) ? [] : [i]));
          expect(differ).toEqual([]);
        } finally {
          simdKernelsSwitch.enabled = true;
        }
      });
    }
  }

  it('runs as the one kernel on wasm, as Step and Multiply on cpu', async () => {
    const seen: string[] = [];
    const kernels = ['wasm', 'cpu'].flatMap((b) =>
      tf
        .getKernelsForBackend(b)
        .filter((k) => k.kernelName === RELU_GRAD || k.kernelName === 'Step'),
    );
    for (const k of kernels) {
      tf.unregisterKernel(k.kernelName, k.backendName);
      tf.registerKernel({
        ...k,
        kernelFunc: (a) => {
          seen.push(`${k.backendName}:${k.kernelName}`);
          return k.kernelFunc(a);
        },
      });
    }
    try {
      const [x, dy] = inputs(16, 3);
      await runOn('wasm', gradOfRelu(x, dy));
      await runOn('cpu', gradOfRelu(x, dy));
      expect(seen).toEqual([`wasm:${RELU_GRAD}`, 'cpu:Step']);
    } finally {
      for (const k of kernels) {
        tf.unregisterKernel(k.kernelName, k.backendName);
        tf.registerKernel(k);
      }
    }
  });

  it('leaks no tensor and no heap buffer', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const [x, dy] = inputs(300, 5);
    tf.dispose(tf.tidy(gradOfRelu(x, dy)));
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    for (let i = 0; i < 4; i++) tf.dispose(tf.tidy(gradOfRelu(x, dy)));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
  });
});
