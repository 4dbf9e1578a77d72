// registerWasmTrainingKernels() adds only missing kernels; replaceSlowWasmKernels() and
// restoreStockWasmKernels() swap the stock kernels and back; all are idempotent.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import {
  WASM_FUSED_KERNELS,
  WASM_REPLACED_KERNELS,
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
  restoreStockWasmKernels,
} from '../../src/backend/wasm/register.js';

describe('registerWasmTrainingKernels', () => {
  it('registers Conv2DBackpropFilter once, before the backend initializes', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(registerWasmTrainingKernels()).toEqual(['Conv2DBackpropFilter']);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(registerWasmTrainingKernels()).toEqual([]);
  });

  it('keeps a kernel that is registered already (a no-op where it exists)', () => {
    const existing = tf.getKernel('Conv2DBackpropFilter', 'wasm')!;
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    const mine: tf.KernelConfig = { ...existing, kernelFunc: existing.kernelFunc.bind(null) };
    tf.registerKernel(mine);
    expect(registerWasmTrainingKernels()).toEqual([]);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')!.kernelFunc).toBe(mine.kernelFunc);
  });
});

describe('replaceSlowWasmKernels / restoreStockWasmKernels', () => {
  it('swaps the stock kernels, keeping their setup, and swaps them back', async () => {
    const stock = Object.fromEntries(
      WASM_REPLACED_KERNELS.map((n) => [n, tf.getKernel(n, 'wasm')!]),
    );
    const fused = WASM_FUSED_KERNELS.map((k) => k.kernelName);
    for (const name of fused) expect(tf.getKernel(name, 'wasm')).toBeUndefined();
    expect(replaceSlowWasmKernels().sort()).toEqual([...WASM_REPLACED_KERNELS, ...fused].sort());
    expect(replaceSlowWasmKernels()).toEqual([]);
    for (const name of fused) expect(tf.getKernel(name, 'wasm')).toBeDefined();
    for (const name of WASM_REPLACED_KERNELS) {
      const now = tf.getKernel(name, 'wasm')!;
      expect(now.kernelFunc).not.toBe(stock[name].kernelFunc);
      expect(now.setupFunc).toBe(stock[name].setupFunc);
    }
    // Replaced before the backend initializes: the stock setup still runs, so the
    // fallback paths work (batched matMul goes to the stock kernel).
    await tf.setBackend('wasm');
    const r = tf.matMul(tf.ones([2, 3, 4]), tf.ones([2, 4, 5]));
    expect(Array.from(await r.data())).toEqual(new Array(30).fill(4));
    expect(restoreStockWasmKernels().sort()).toEqual([...WASM_REPLACED_KERNELS, ...fused].sort());
    expect(restoreStockWasmKernels()).toEqual([]);
    for (const name of fused) expect(tf.getKernel(name, 'wasm')).toBeUndefined();
    for (const name of WASM_REPLACED_KERNELS) {
      expect(tf.getKernel(name, 'wasm')!.kernelFunc).toBe(stock[name].kernelFunc);
    }
  });
});
