// selectBackend's `simd` option in a process of its own (it may turn a V8 flag on for the
// process): 'simd128' keeps the SIMD128 kernels, 'relaxed' runs the relaxed-SIMD ones, on Node
// 20 by turning on V8's --experimental-wasm-relaxed-simd after the runtime first refused the
// module (the refusal must not stick: forgetUncompiledModules), and the kernels then run (a
// convolution's filter gradient against the cpu backend).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { enableRelaxedSimd } from '../../src/backend/wasm/relaxed-simd-flag.js';
import { relaxedSimdCompiles, wasmSimdInUse } from '../../src/backend/wasm/simd/index.js';
import { selectBackend } from '../../src/backend/select.js';
import { simdProxVariant } from '../../src/prox/simd/index.js';
import { normals } from '../helpers.js';

// before anything: does this runtime have relaxed SIMD without the flag (Node 22+)?
const onWithoutFlag = relaxedSimdCompiles();

/** The filter gradient of a 3x3 convolution (Conv2DBackpropFilter: Winograd on wasm). */
function filterGrad(): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor4d(normals(2 * 9 * 9 * 8, 1), [2, 9, 9, 8]);
    const w = tf.tensor4d(normals(3 * 3 * 8 * 16, 2), [3, 3, 8, 16]);
    const dy = tf.tensor4d(normals(2 * 9 * 9 * 16, 3), [2, 9, 9, 16]);
    return tf.grad((f) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, 1, 'same'), dy)))(w);
  });
}

describe('selectBackend({ simd })', () => {
  it("'simd128' runs the SIMD128 kernels, whatever the runtime has", async () => {
    const sel = await selectBackend('wasm', { simd: 'simd128' });
    expect(sel).toEqual({ backend: 'wasm' });
    expect(wasmSimdInUse()).toBe('simd128');
    expect(simdProxVariant()).toBe('simd128');
  });

  it("'relaxed' runs the relaxed-SIMD kernels, turning Node's V8 flag on where it must", async () => {
    const sel = await selectBackend('wasm', { simd: 'relaxed' });
    expect(sel).toEqual({ backend: 'wasm' });
    expect(wasmSimdInUse()).toBe('relaxed');
    expect(simdProxVariant()).toBe('relaxed');
    // once on, on: no flag to turn
    expect(await enableRelaxedSimd()).toEqual({ ok: true, flag: false });
    expect(onWithoutFlag || relaxedSimdCompiles()).toBe(true);
    const got = filterGrad();
    await tf.setBackend('cpu');
    const want = filterGrad();
    const scale = (await tf.max(tf.abs(want)).data())[0];
    const err = (await tf.max(tf.abs(tf.sub(got, want))).data())[0];
    expect(err / scale).toBeLessThan(1e-4);
    tf.dispose([got, want]);
  });

  it('names no SIMD build on another backend', async () => {
    await selectBackend('cpu');
    expect(wasmSimdInUse()).toBeNull();
  });
});
