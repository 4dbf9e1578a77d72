// selectBackend('wasm') falls back to cpu, with a notice, when the WebAssembly module
// cannot be loaded (here: a wasm path that does not exist).
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { expect, it, vi } from 'vitest';
import { selectBackend } from '../../src/backend/select.js';

it('uses cpu with a notice when the wasm module fails to load', async () => {
  setWasmPaths('/nonexistent/parq-ts/');
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const r = await selectBackend('wasm');
  warn.mockRestore();
  expect(r.backend).toBe('cpu');
  expect(r.notice).toMatch(/^wasm: not available \(.+\), using cpu$/);
  expect(tf.getBackend()).toBe('cpu');
});
