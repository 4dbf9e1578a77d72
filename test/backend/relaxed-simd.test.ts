// The relaxed-SIMD module (fused multiply-adds in the convolutions' GEMM loops, see
// scripts/build-wasm-kernels.mjs) under the same tests as the SIMD128 module: this file turns
// relaxed SIMD on in its own process (Node 20 has it behind a V8 flag; Node 22 and Chrome 114+
// have it on), checks the kernels run the relaxed module, and then runs the convolution test
// files, which compare every kernel with the cpu backend (within 1e-4 relative) on the same
// shapes, and hold memory steady, and the prox maps' tests (the relaxed prox module must give
// the SIMD128 module's bits exactly, and the maps with both modules the composed ops'; the
// fused QAT step, the base optimizer's and the composed map's bits). The
// other test files run whichever module the runtime gives (SIMD128 on Node 20).
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';

// before any module is compiled: the feature is read when a module is validated
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-wasm');
const { simdKernelsSwitch, simdKernelVariant } =
  await import('../../src/backend/wasm/simd/index.js');
const { registerWasmTrainingKernels, replaceSlowWasmKernels } =
  await import('../../src/backend/wasm/register.js');
const { normals } = await import('../helpers.js');
const { simdProxVariant } = await import('../../src/prox/simd/index.js');

describe('the relaxed-SIMD kernels', () => {
  it('are the ones that run once the runtime has relaxed SIMD', () => {
    expect(simdKernelVariant()).toBe('relaxed');
    expect(simdProxVariant()).toBe('relaxed'); // the prox maps' module too
    simdKernelsSwitch.relaxed = false;
    try {
      expect(simdProxVariant()).toBe('simd128');
    } finally {
      simdKernelsSwitch.relaxed = true;
    }
  });

  it('leave MatMul on the SIMD128 module: the same bits with relaxed SIMD on and off', async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
    replaceSlowWasmKernels();
    const a = tf.tensor2d(normals(64 * 200, 1), [64, 200]);
    const b = tf.tensor2d(normals(200 * 40, 2), [200, 40]);
    const bits = (t: import('@tensorflow/tfjs').Tensor) =>
      Array.from(new Uint32Array(t.dataSync().buffer));
    const product = () => tf.tidy(() => bits(tf.matMul(a, b)));
    const withRelaxed = product();
    simdKernelsSwitch.relaxed = false;
    try {
      expect(withRelaxed).toEqual(product());
    } finally {
      simdKernelsSwitch.relaxed = true;
    }
    tf.dispose([a, b]);
  });
});

await import('./conv-kernels.test.js');
await import('./winograd.test.js');
await import('./winograd-filter-grad.test.js');
await import('./training-step.test.js');
await import('../prox/simd.test.js');
await import('../optim/fused-step.test.js');
