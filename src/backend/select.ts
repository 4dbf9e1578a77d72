// Choosing the tfjs backend parq-ts trains on.
//
//  - 'wasm' (default): tfjs-backend-wasm, plus parq-ts's training kernels: the ones the
//    wasm backend lacks (Conv2DBackpropFilter: without it no CNN trains there) and faster
//    versions of the slow ones (see ./wasm/register.ts). Falls back to 'cpu', with a
//    notice, when the WebAssembly module cannot be loaded.
//  - 'cpu': tfjs's plain JavaScript backend (slow: minutes per epoch even for LeNet-5).
//  - 'tensorflow': @tensorflow/tfjs-node (native TensorFlow), when installed.
//  - 'webgpu': tfjs-backend-webgpu (in Node through Dawn, the optional 'webgpu' package; see
//    ./webgpu.ts); falls back to wasm, with a notice naming the reason, when no adapter is found.
//  - 'auto': webgpu where an adapter exists, else wasm.
import * as tf from '@tensorflow/tfjs';
import { enableRelaxedSimd } from './wasm/relaxed-simd-flag.js';
import { registerWasmTrainingKernels, replaceSlowWasmKernels } from './wasm/register.js';
import { simdKernelsSwitch } from './wasm/simd/index.js';
import { installThreadedWasm, threadedWasmThreads } from './wasm/threads.js';
import { setupWebGPU } from './webgpu.js';

export type BackendChoice = 'wasm' | 'cpu' | 'tensorflow' | 'webgpu' | 'auto';

export const BACKEND_CHOICES: readonly BackendChoice[] = [
  'wasm',
  'cpu',
  'tensorflow',
  'webgpu',
  'auto',
];

export interface BackendSelection {
  /** The tfjs backend now active (tf.getBackend()). */
  backend: string;
  /** Set when the backend in use is not the one asked for, or runs with less than asked. */
  notice?: string;
}

export interface SelectBackendOptions {
  /**
   * wasm only: replace the stock wasm kernels that are slow in CNN training by parq-ts's
   * (Conv2DBackpropInput, BatchMatMul with transposes, Tile, AvgPoolGrad, MaxPoolGrad, Sum,
   * Mean, Multiply, Add, one-channel Conv2D; see WASM_REPLACED_KERNELS).
   * Default true.
   */
  fastKernels?: boolean;
  /**
   * wasm only, Node only: threads of the wasm backend. 1 (default): tfjs's single-threaded
   * SIMD build. More: the threaded SIMD build with that many threads; must be chosen
   * before the wasm backend first initializes (else the notice says it was not applied).
   */
  threads?: number;
  /**
   * wasm only: which build of parq-ts's SIMD kernels runs (for the whole process, until
   * chosen again). Unset (default): as before the call, at first the runtime's, relaxed SIMD
   * where it has it on (Node 22+, Chrome 114+), else SIMD128.
   * 'relaxed': also where the runtime has it behind a flag (Node 20: turns V8's
   * --experimental-wasm-relaxed-simd on for the process, ./wasm/relaxed-simd-flag.ts), with a
   * notice where it cannot. 'simd128': the SIMD128 build on any runtime (the same results on
   * every machine: relaxed multiply-adds round once or twice as the CPU has FMA or not).
   */
  simd?: SimdChoice;
}

export type SimdChoice = 'relaxed' | 'simd128';

export const SIMD_CHOICES: readonly SimdChoice[] = ['relaxed', 'simd128'];

/**
 * Makes `name` the active tfjs backend and waits until it is ready. Returns the backend in
 * use and, where it differs from the request or was degraded, a one-line notice. Throws
 * only for 'tensorflow' when @tensorflow/tfjs-node is missing or fails to load, and for an
 * unknown name.
 */
export async function selectBackend(
  name: BackendChoice = 'wasm',
  options: SelectBackendOptions = {},
): Promise<BackendSelection> {
  switch (name) {
    case 'wasm':
      return selectWasm(options);
    case 'cpu':
      await tf.setBackend('cpu');
      await tf.ready();
      silenceCpuBanner();
      return { backend: tf.getBackend() };
    case 'tensorflow':
      return selectTensorflow();
    case 'webgpu':
    case 'auto': {
      const gpu = await setupWebGPU();
      if (gpu.ok) return { backend: tf.getBackend() };
      const wasm = await selectWasm(options);
      if (name === 'auto') return wasm;
      const notice = `webgpu: not available (${gpu.reason}), using ${wasm.backend}`;
      return { backend: wasm.backend, notice: joinNotices(notice, wasm.notice) };
    }
    default:
      throw new Error(
        `unknown backend '${String(name)}' (expected one of ${BACKEND_CHOICES.join(', ')})`,
      );
  }
}

async function selectWasm(options: SelectBackendOptions): Promise<BackendSelection> {
  const { fastKernels = true, threads = 1, simd } = options;
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    return fallBackToCpu(`@tensorflow/tfjs-backend-wasm failed to load: ${oneLine(err)}`);
  }
  let notice: string | undefined;
  if (simd !== undefined) {
    simdKernelsSwitch.relaxed = simd === 'relaxed';
    if (simd === 'relaxed') {
      const setup = await enableRelaxedSimd();
      if (!setup.ok) notice = `wasm: relaxed SIMD not available (${setup.reason}), using SIMD128`;
    }
  }
  if (threads > 1) {
    const setup = await installThreadedWasm(threads);
    if (!setup.ok) {
      const inUse = threadedWasmThreads() || 1;
      const threadNotice = `wasm: ${threads} threads not available (${setup.reason}), using ${inUse}`;
      notice = joinNotices(threadNotice, notice);
    }
  }
  // Registration works before and after the backend initializes.
  registerWasmTrainingKernels();
  if (fastKernels) replaceSlowWasmKernels();
  let ok: boolean;
  try {
    ok = await tf.setBackend('wasm');
  } catch (err) {
    return fallBackToCpu(`the WebAssembly module failed to initialize: ${oneLine(err)}`);
  }
  if (!ok) return fallBackToCpu('the WebAssembly module failed to initialize');
  await tf.ready();
  return notice == null ? { backend: tf.getBackend() } : { backend: tf.getBackend(), notice };
}

async function fallBackToCpu(reason: string): Promise<BackendSelection> {
  await tf.setBackend('cpu');
  await tf.ready();
  silenceCpuBanner();
  return { backend: tf.getBackend(), notice: `wasm: not available (${reason}), using cpu` };
}

/**
 * tfjs's cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js..." on its
 * first tensor; a backend chosen here is chosen on purpose, so that advice is noise.
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}

async function selectTensorflow(): Promise<BackendSelection> {
  // A computed specifier: the package is optional and not installed by default.
  const pkg = ['@tensorflow', 'tfjs-node'].join('/');
  try {
    await import(pkg);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        `backend 'tensorflow' needs the package ${pkg}, which is not installed (npm install ${pkg})`,
        { cause: err },
      );
    }
    throw new Error(`backend 'tensorflow': ${pkg} failed to load: ${oneLine(err)}`, {
      cause: err,
    });
  }
  if (!(await tf.setBackend('tensorflow'))) {
    throw new Error(`backend 'tensorflow': ${pkg} is installed but its backend failed to start`);
  }
  await tf.ready();
  return { backend: tf.getBackend() };
}

function joinNotices(...notices: Array<string | undefined>): string {
  return notices.filter((n) => n != null && n !== '').join('; ');
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}
