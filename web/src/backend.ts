/**
 * The tfjs backend of the page: webgl when the browser gives a WebGL context, else wasm, else
 * cpu; `?backend=wasm` (or webgl, cpu) asks for one and falls back down the same list. The wasm
 * binaries are bundled by Vite (`?url`), so the page fetches them from its own origin; on wasm
 * the library's training kernels replace the slow stock ones, as in the CLI. Runs in the page
 * (predictions of loaded models, the draw pad) and in each training worker.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
} from '../../src/backend/wasm/register.js';

export const BACKENDS = ['webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendChoice {
  name: string;
  /** Backends tried before it that failed to start, with why. */
  skipped: string[];
}

/**
 * The renderer's name when WebGL runs in software (SwiftShader, llvmpipe, ...), else null. Such
 * a "GPU" trains far slower than wasm, so the automatic choice skips it.
 */
export function softwareWebgl(): string | null {
  // in a worker there is no document: an OffscreenCanvas gives the same context
  const canvas =
    typeof document === 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
  const gl = (canvas.getContext('webgl2') ??
    canvas.getContext('webgl')) as WebGLRenderingContext | null;
  if (!gl) return null;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer) ? renderer : null;
}

/**
 * Starts the first backend that works, from `requested` down the list. With no request, webgl
 * is tried only on a hardware GPU (see `softwareWebgl`); `?backend=webgl` forces it.
 */
export async function selectBrowserBackend(requested?: string | null): Promise<BackendChoice> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  });
  const start = Math.max(0, BACKENDS.indexOf((requested ?? 'webgl') as BackendName));
  const skipped: string[] = [];
  for (const name of BACKENDS.slice(start)) {
    if (name === 'webgl' && !requested) {
      const software = softwareWebgl();
      if (software) {
        skipped.push(`webgl: software renderer (${software}), slower than wasm`);
        continue;
      }
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'wasm') {
          // the training kernels parq-ts adds to wasm, as `parq train --backend wasm` uses them
          registerWasmTrainingKernels();
          replaceSlowWasmKernels();
        }
        // A context that exists but cannot run a kernel (blocklisted GPU) counts as missing.
        tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync());
        return { name, skipped };
      }
      skipped.push(`${name}: not available`);
    } catch (err) {
      skipped.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no tfjs backend could start (${skipped.join('; ')})`);
}
