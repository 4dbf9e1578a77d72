/**
 * The WebGPU backend, in the browser and in Node through Dawn.
 *
 * `@tensorflow/tfjs-backend-webgpu` registers itself only if `navigator.gpu`
 * exists when the module is first loaded. Browsers provide it; in Node the
 * optional `webgpu` package (Dawn's Node binding, `dawn.node`, shipped inside
 * the package) does: `setupWebGPU` loads it, copies its globals (GPUBufferUsage,
 * GPUMapMode, ...) onto `globalThis`, sets `navigator.gpu`, asks for an adapter
 * and only then imports the backend and selects it.
 *
 * Where there is no adapter (no GPU, no driver, CI), or the optional packages
 * are missing, it changes nothing and returns the reason in one line, so the
 * caller can fall back (`selectBackend` falls back to wasm with a notice).
 *
 * In Node, a tensor on the GPU can only be read asynchronously (`await
 * t.data()`): tfjs's synchronous read (`dataSync`) needs OffscreenCanvas, which
 * Node lacks. The setup replaces that failure with an error that says so.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWebGPUConvFilterGrad } from './webgpu-conv-filter-grad.js';
import { registerWebGPUProxKernel } from './webgpu-prox.js';
import { registerWebGPUFusedStep } from './webgpu-fused-step.js';
import { isNode } from '../util/runtime.js';

export interface WebGPUOptions {
  /**
   * Path of Dawn's `dawn.node`. Default: `$WEBGPU_NODE`, else the `webgpu`
   * package's build for this platform.
   */
  dawnPath?: string;
  /**
   * Dawn options for `create`, e.g. `['backend=vulkan']` or `['adapter=NAME']`. Default:
   * `$WEBGPU_DAWN_FLAGS` split on whitespace, else none.
   */
  dawnFlags?: string[];
  /**
   * Options of the adapter request. Default: a high-performance adapter; where none is found,
   * a compatibility-mode one (e.g. Dawn on OpenGL ES), which tfjs's kernels also run on.
   */
  adapterOptions?: Record<string, unknown>;
}

export type WebGPUSetup =
  { ok: true; backend: 'webgpu'; adapter: string } | { ok: false; reason: string };

interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

let adapterName: string | null = null;
let dawnGpu: GpuLike | null = null;
let released = false;

const oneLine = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();

function describeAdapter(adapter: AdapterLike): string {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  return parts.length > 0 ? [...new Set(parts)].join(' ') : 'unknown adapter';
}

/** Where `dawn.node` is: the option, `$WEBGPU_NODE`, or inside the `webgpu` package. */
async function dawnNodePath(options: WebGPUOptions): Promise<string> {
  if (options.dawnPath) return options.dawnPath;
  if (process.env.WEBGPU_NODE) return process.env.WEBGPU_NODE;
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('webgpu/package.json');
  } catch {
    throw new Error(
      "the optional package 'webgpu' (Dawn for Node) is not installed; set WEBGPU_NODE to a dawn.node",
    );
  }
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  return join(dirname(pkg), 'dist', `${process.platform}-${arch}`, 'dawn.node');
}

/** Device nodes a GPU driver creates on Linux (DRM, NVIDIA, AMD compute, WSL's GPU). */
const GPU_DEVICES = ['/dev/dri', '/dev/nvidiactl', '/dev/nvidia0', '/dev/kfd', '/dev/dxg'];

/**
 * On Linux with no GPU device node and no Dawn flags asked for: why not to probe. Dawn's
 * adapter discovery would only print its Vulkan warnings ("Couldn't load Vulkan",
 * XDG_RUNTIME_DIR) from native code straight to stderr, which nothing in JS can filter, before
 * finding no adapter. With Dawn flags (`dawnFlags`, `$WEBGPU_DAWN_FLAGS`, e.g. a software
 * adapter through `backend=opengles`) or a Dawn of one's own (`dawnPath`, `$WEBGPU_NODE`) or a Vulkan
 * driver named in `$VK_ICD_FILENAMES` / `$VK_DRIVER_FILES` (SwiftShader in CI) it probes anyway. Null: go ahead.
 */
async function noGpuDevice(options: WebGPUOptions): Promise<string | null> {
  if (process.platform !== 'linux') return null;
  if (options.dawnPath || process.env.WEBGPU_NODE) return null;
  // a Vulkan driver named explicitly (e.g. SwiftShader's, a software adapter with no device)
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return null;
  if (options.dawnFlags?.length || (process.env.WEBGPU_DAWN_FLAGS ?? '').trim() !== '') return null;
  const { existsSync } = await import('node:fs');
  if (GPU_DEVICES.some((d) => existsSync(d))) return null;
  return 'no WebGPU adapter found (no GPU device: /dev/dri, /dev/nvidia0, /dev/kfd, /dev/dxg absent; set WEBGPU_DAWN_FLAGS to probe Dawn anyway)';
}

/** Load Dawn, publish its globals and `navigator.gpu` (Node only). */
async function installDawn(options: WebGPUOptions): Promise<GpuLike> {
  if (dawnGpu) return dawnGpu;
  const path = await dawnNodePath(options);
  const { createRequire } = await import('node:module');
  let dawn: DawnModule;
  try {
    dawn = createRequire(import.meta.url)(path) as DawnModule;
  } catch (e) {
    throw new Error(`cannot load Dawn from '${path}': ${oneLine(e)}`, { cause: e });
  }
  // Dawn's classes and constants (GPUBufferUsage, GPUMapMode, ...) are globals in a browser.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  const envFlags = (process.env.WEBGPU_DAWN_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
  dawnGpu = dawn.create(options.dawnFlags ?? envFlags);
  return dawnGpu;
}

/** Make `navigator.gpu` return `gpu` (Node 20 has no navigator; Node 21+ has one without gpu). */
function publishNavigatorGpu(gpu: GpuLike): void {
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', {
      value: {},
      configurable: true,
      writable: true,
    });
  }
  Object.defineProperty(g.navigator as object, 'gpu', { value: gpu, configurable: true });
}

/**
 * tfjs-backend-webgpu asks `navigator.gpu` for an adapter itself: hand it the
 * adapter found here (once), so it gets the same one, with the same options.
 */
function shareAdapter(gpu: GpuLike, adapter: AdapterLike, options: Record<string, unknown>): void {
  const request = gpu.requestAdapter.bind(gpu);
  let first: AdapterLike | null = adapter;
  Object.defineProperty(gpu, 'requestAdapter', {
    configurable: true,
    value: (o?: Record<string, unknown>) => {
      const found = first;
      first = null;
      return found ? Promise.resolve(found) : request({ ...(o ?? {}), ...options });
    },
  });
}

/** In Node, a synchronous read of a GPU tensor cannot work: say so instead of 'OffscreenCanvas is not defined'. */
function guardSyncReads(): void {
  if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined') return;
  const backend = tf.findBackend('webgpu') as unknown as {
    readSync(dataId: object): unknown;
    tensorMap: { get(dataId: object): { values: unknown; dtype: string } };
    __parqGuarded?: boolean;
  } | null;
  if (!backend || backend.__parqGuarded) return;
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    if (data.values == null && data.dtype !== 'string') {
      throw new Error(
        'webgpu in Node cannot read a GPU tensor synchronously (dataSync/arraySync): use await tensor.data()',
      );
    }
    return readSync(dataId);
  };
  backend.__parqGuarded = true;
}

/**
 * Select tfjs's WebGPU backend, loading Dawn first in Node. Never throws for a
 * missing GPU or package: returns `{ ok: false, reason }` and leaves the
 * current backend as it was.
 */
export async function setupWebGPU(options: WebGPUOptions = {}): Promise<WebGPUSetup> {
  if (tf.getBackend() === 'webgpu' && adapterName !== null) {
    return { ok: true, backend: 'webgpu', adapter: adapterName };
  }
  let adapterOptions: Record<string, unknown> = {
    powerPreference: 'high-performance',
    ...(options.adapterOptions ?? {}),
  };
  let gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  try {
    if (!gpu) {
      if (!isNode()) return { ok: false, reason: 'this browser has no WebGPU (navigator.gpu)' };
      const noDevice = await noGpuDevice(options);
      if (noDevice) return { ok: false, reason: noDevice };
      gpu = await installDawn(options);
    }
  } catch (e) {
    return { ok: false, reason: oneLine(e) };
  }
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.requestAdapter(adapterOptions);
    if (!adapter && !options.adapterOptions) {
      adapterOptions = { ...adapterOptions, featureLevel: 'compatibility' };
      adapter = await gpu.requestAdapter(adapterOptions);
    }
  } catch (e) {
    return { ok: false, reason: `the WebGPU adapter request failed: ${oneLine(e)}` };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter found (no usable GPU or driver)' };

  const previous = tf.getBackend();
  if (dawnGpu === gpu) publishNavigatorGpu(gpu);
  shareAdapter(gpu, adapter, adapterOptions);
  let webgpuModule: Record<string, unknown>;
  try {
    webgpuModule = (await import('@tensorflow/tfjs-backend-webgpu')) as Record<string, unknown>;
  } catch (e) {
    return {
      ok: false,
      reason: `the optional package '@tensorflow/tfjs-backend-webgpu' cannot be loaded: ${oneLine(e)}`,
    };
  }
  if (!tf.findBackendFactory('webgpu')) {
    if (released)
      return { ok: false, reason: 'WebGPU was released in this process (releaseWebGPU)' };
    return {
      ok: false,
      reason:
        '@tensorflow/tfjs-backend-webgpu was loaded before navigator.gpu existed; call setupWebGPU before importing it',
    };
  }
  let selected: boolean;
  try {
    selected = await tf.setBackend('webgpu');
  } catch (e) {
    return { ok: false, reason: `the webgpu backend failed to start: ${oneLine(e)}` };
  }
  if (!selected) {
    if (previous) await tf.setBackend(previous);
    return { ok: false, reason: 'the webgpu backend failed to start (see the warning above)' };
  }
  await tf.ready();
  registerWebGPUProxKernel(webgpuModule);
  registerWebGPUFusedStep(webgpuModule);
  registerWebGPUConvFilterGrad();
  guardSyncReads();
  adapterName = describeAdapter(adapter);
  return { ok: true, backend: 'webgpu', adapter: adapterName };
}

/** The adapter in use, once `setupWebGPU` succeeded. */
export function webgpuAdapter(): string | null {
  return adapterName;
}

/**
 * Let a Node process end: remove the webgpu backend (destroying its device)
 * and drop the reference to Dawn, which otherwise keeps the event loop alive.
 * The backend cannot be selected again in this process afterwards.
 */
export function releaseWebGPU(): void {
  if (tf.findBackendFactory('webgpu')) {
    tf.removeBackend('webgpu');
    released = true;
  }
  adapterName = null;
  if (dawnGpu) {
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    if (nav && nav.gpu === dawnGpu) delete nav.gpu;
    dawnGpu = null;
  }
}
