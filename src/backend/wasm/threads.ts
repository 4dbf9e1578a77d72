// The multi-threaded wasm backend in Node.
//
// tfjs-backend-wasm ships a threaded SIMD build (tfjs-backend-wasm-threaded-simd.wasm, whose
// XNNPACK kernels split work over a pthreadpool), but never uses it in Node: its
// WASM_HAS_MULTITHREAD_SUPPORT flag is false there, and its loader hands the Emscripten
// runtime a Blob URL for the pthread worker script, which Node's worker_threads cannot
// start. installThreadedWasm() replaces the 'wasm' backend factory by one that loads the
// threaded build with
//  - the pthread worker script as a data: URL ES module (Node can start those) that gets
//    `require` and `__filename` from a short prelude, and the main script as a file path;
//  - the core count the wasm module sees raised to 2 x threads: tfjs caps its pool at half
//    the logical cores (so a 2-core machine would get 1 thread whatever setThreadsCount says).
// The pthread workers are unref'd so they never keep the process alive.
//
// Must run before the wasm backend is first initialized (tf.setBackend('wasm') /
// tf.ready()); it refuses (and changes nothing) afterwards.
import * as tf from '@tensorflow/tfjs';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { isNode } from '../../util/runtime.js';

export type ThreadedWasmSetup = { ok: true; threads: number } | { ok: false; reason: string };

/** What the Emscripten factory of the threaded build returns (the part used here). */
interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...args: number[]) => number;
  PThread?: { unusedWorkers: NodeWorker[]; runningWorkers: NodeWorker[] };
  tfjs?: unknown;
}

interface NodeWorker {
  unref?(): void;
}

type Imports = { env: Record<string, unknown> };
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

const WASM_PRIORITY = 2; // what tfjs-backend-wasm registers its backend with

/** Threads of the threaded wasm backend in use, or 0 when the single-threaded one is. */
let installedThreads = 0;

export function threadedWasmThreads(): number {
  return installedThreads;
}

/**
 * Makes the next initialization of the 'wasm' backend load the threaded SIMD build with
 * `threads` threads (Node only). Returns why not when it cannot (not Node, no
 * SharedArrayBuffer, backend already initialized, build files missing).
 */
export async function installThreadedWasm(threads: number): Promise<ThreadedWasmSetup> {
  if (!Number.isInteger(threads) || threads < 1) {
    return { ok: false, reason: `threads must be a positive integer, got ${threads}` };
  }
  if (!isNode()) {
    return { ok: false, reason: 'not Node (browsers use tfjs-backend-wasm threads as is)' };
  }
  if (typeof SharedArrayBuffer === 'undefined') {
    return { ok: false, reason: 'no SharedArrayBuffer' };
  }
  const engine = tf.engine() as unknown as {
    registry: Record<string, unknown>;
    registryFactory: Record<
      string,
      { factory: () => tf.KernelBackend | Promise<tf.KernelBackend> }
    >;
  };
  if (engine.registry.wasm != null) {
    return { ok: false, reason: 'the wasm backend is initialized already' };
  }
  let files: { dir: string; factory: Factory; workerSource: string; wasm: Uint8Array };
  try {
    files = await loadThreadedBuild();
  } catch (err) {
    return { ok: false, reason: `threaded build not loadable: ${(err as Error).message}` };
  }
  const stock = engine.registryFactory.wasm?.factory;
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      try {
        return await createThreadedBackend(files, threads);
      } catch (err) {
        if (stock == null) throw err;
        // The single-threaded build still works without workers.
        console.warn(`parq-ts: threaded wasm failed (${(err as Error).message}), using 1 thread`);
        installedThreads = 0;
        return stock();
      }
    },
    WASM_PRIORITY,
  );
  installedThreads = threads;
  return { ok: true, threads };
}

async function loadThreadedBuild(): Promise<{
  dir: string;
  factory: Factory;
  workerSource: string;
  wasm: Uint8Array;
}> {
  const { createRequire } = await import('node:module');
  const { readFileSync } = await import('node:fs');
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  const dir = pkg.slice(0, pkg.length - 'package.json'.length) + 'wasm-out/';
  const factory = require(`${dir}tfjs-backend-wasm-threaded-simd.js`) as Factory;
  const worker = require(`${dir}tfjs-backend-wasm-threaded-simd.worker.js`) as {
    wasmWorkerContents: string;
  };
  // The worker script is stored as a JS string literal whose '\n' escapes were turned into
  // newlines when it was loaded; restore them (tfjs's own loader does the same).
  const workerSource = worker.wasmWorkerContents.replace(/\n/g, '\\n');
  const wasm = readFileSync(`${dir}tfjs-backend-wasm-threaded-simd.wasm`);
  return { dir, factory, workerSource, wasm };
}

async function createThreadedBackend(
  files: { dir: string; factory: Factory; workerSource: string; wasm: Uint8Array },
  threads: number,
): Promise<wasmBackend.BackendWasm> {
  const { dir, factory, workerSource, wasm } = files;
  const mainScript = `${dir}tfjs-backend-wasm-threaded-simd.js`;
  const prelude =
    `import { createRequire } from 'node:module';` +
    `const require = createRequire(${JSON.stringify(mainScript)});` +
    `const __filename = ${JSON.stringify(`${dir}tfjs-backend-wasm-threaded-simd.worker.js`)};\n`;
  const workerUrl = new URL(`data:text/javascript,${encodeURIComponent(prelude + workerSource)}`);
  const module = await factory({
    locateFile: (path: string, prefix: string) =>
      path.endsWith('.worker.js') ? workerUrl : prefix + path,
    mainScriptUrlOrBlob: mainScript,
    instantiateWasm: (
      imports: Imports,
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => {
      const cores = imports.env.emscripten_num_logical_cores as (() => number) | undefined;
      imports.env.emscripten_num_logical_cores = () => Math.max(cores?.() ?? 1, 2 * threads);
      void WebAssembly.instantiate(
        wasm as unknown as BufferSource,
        imports as WebAssembly.Imports,
      ).then((result: WebAssembly.WebAssemblyInstantiatedSource) =>
        receive(result.instance, result.module),
      );
      return {};
    },
  });
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  wasmBackend.setThreadsCount(threads);
  const backend = new wasmBackend.BackendWasm(module as unknown as wasmBackend.BackendWasm['wasm']);
  // Idle and pool threads must not keep Node running.
  for (const w of [
    ...(module.PThread?.unusedWorkers ?? []),
    ...(module.PThread?.runningWorkers ?? []),
  ]) {
    w.unref?.();
  }
  return backend;
}
