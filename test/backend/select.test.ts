// selectBackend: wasm (with parq-ts kernels), cpu, tensorflow (not installed here), and the
// webgpu / auto placeholders that fall back to wasm with a notice.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/select.js';
import { WASM_REPLACED_KERNELS } from '../../src/backend/wasm/register.js';

describe('selectBackend', () => {
  it('defaults to wasm with the training kernels registered', async () => {
    expect(await selectBackend()).toEqual({ backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    for (const name of WASM_REPLACED_KERNELS) expect(tf.getKernel(name, 'wasm')).toBeDefined();
    const dw = tf.grad((f) =>
      tf.conv2d(tf.ones([1, 5, 5, 2]) as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid').sum(),
    );
    expect(Array.from(await dw(tf.zeros([3, 3, 2, 1])).data())).toEqual(new Array(18).fill(9));
  });

  it('selects cpu', async () => {
    expect(await selectBackend('cpu')).toEqual({ backend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it("throws a one-line error for 'tensorflow' when @tensorflow/tfjs-node is not installed", async () => {
    let installed = true;
    try {
      await import(['@tensorflow', 'tfjs-node'].join('/'));
    } catch {
      installed = false;
    }
    if (installed) return;
    const err = await selectBackend('tensorflow').then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/@tensorflow\/tfjs-node.*not installed/);
    expect(err!.message).not.toContain('\n');
  });

  it.each(['webgpu', 'auto'] as const)('%s uses webgpu or falls back to wasm', async (name) => {
    const r = await selectBackend(name);
    expect(r.backend).toBe(tf.getBackend());
    if (r.backend !== 'webgpu') {
      expect(r.backend).toBe('wasm');
      // 'webgpu' must say why it is not used; 'auto' may fall back silently.
      if (name === 'webgpu' || r.notice != null) {
        expect(r.notice).toMatch(/^webgpu: not available \(.+\), using wasm$/);
      }
    }
  });

  it('rejects unknown names', async () => {
    await expect(selectBackend('tpu' as never)).rejects.toThrow(/unknown backend 'tpu'/);
  });
});
