// The SIMD training kernels (kernels.wat) bound to a tfjs wasm backend's heap: the module
// imports the backend's memory, so it reads and writes tensors in place (pointers are byte
// addresses in that heap). Null where they cannot run: no WebAssembly SIMD, the memory not
// found, or a shared memory (the threaded build): the kernels then keep their other paths.
import type { BackendWasm } from '../kernel-utils.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

type I = number;

/** A block of tiles of dy to W = A dY A^T (wino_dy, wino4_dy in kernels.wat). */
type DyTransform = (
  dy: I,
  w: I,
  t0: I,
  cnt: I,
  tw: I,
  th: I,
  kv: I,
  pixB: I,
  rowB: I,
  imgB: I,
  posB: I,
  tileB: I,
) => void;

/**
 * A block of tiles of x to V = B^T d B (wino_in, wino4_in in kernels.wat): x images of h x w
 * pixels of c floats, read from row -top, column -left through `strip` (the rows under a row of
 * tiles, zero past x).
 */
type InputTransform = (
  x: I,
  v: I,
  t0: I,
  cnt: I,
  tw: I,
  th: I,
  cv: I,
  pixB: I,
  rowB: I,
  imgB: I,
  posB: I,
  h: I,
  w: I,
  c: I,
  top: I,
  left: I,
  strip: I,
) => void;

/** Y = L X L^T over rows x quads of channel vectors (wino_filter etc. in kernels.wat). */
type MatrixTransform = (
  src: I,
  dst: I,
  rows: I,
  quads: I,
  srcRowB: I,
  srcElB: I,
  dstRowB: I,
  dstElB: I,
) => void;
/** The module's exports; see kernels.wat for what each computes. */
export interface SimdKernels {
  fg_4x2(
    x: I,
    dy: I,
    out: I,
    n: I,
    oh: I,
    ow: I,
    xImg: I,
    xRow: I,
    xCol: I,
    dyPix: I,
    outRow: I,
  ): void;
  fg_4x1(
    x: I,
    dy: I,
    out: I,
    n: I,
    oh: I,
    ow: I,
    xImg: I,
    xRow: I,
    xCol: I,
    dyPix: I,
    outRow: I,
  ): void;
  fg_1x2(
    x: I,
    dy: I,
    out: I,
    n: I,
    oh: I,
    ow: I,
    xImg: I,
    xRow: I,
    xCol: I,
    dyPix: I,
    outRow: I,
  ): void;
  fg_1x1(
    x: I,
    dy: I,
    out: I,
    n: I,
    oh: I,
    ow: I,
    xImg: I,
    xRow: I,
    xCol: I,
    dyPix: I,
    outRow: I,
  ): void;
  colsum(x: I, out: I, part: I, rows: I, cols: I, scale: number): void;
  bn_sums(x: I, shift: I, g: I, s1: I, s2: I, rows: I, cols: I): void;
  bn_affine(x: I, mean: I, scale: I, shift: I, g: I, gscale: I, out: I, rows: I, cols: I): void;
  relu_grad(dy: I, x: I, out: I, n: I): void;
  mulrows(a: I, b: I, out: I, rows: I, cols: I): void;
  addrows(a: I, b: I, out: I, rows: I, cols: I): void;
  padrows(x: I, out: I, rows: I, cols: I, colsOut: I): void;
  conv_8(
    x: I,
    wt: I,
    out: I,
    n: I,
    oh: I,
    ow: I,
    fh: I,
    fw: I,
    on: I,
    xImg: I,
    xRow: I,
    xCol: I,
    xKh: I,
    outCol: I,
    outRow: I,
    outImg: I,
  ): void;
  bi_8(
    dy: I,
    wt: I,
    out: I,
    n: I,
    oh: I,
    ow: I,
    fh: I,
    co: I,
    jn: I,
    outImg: I,
    outRow: I,
    outCol: I,
    outKh: I,
    wtKh: I,
  ): void;
  maxpool_grad(
    x: I,
    dy: I,
    out: I,
    n: I,
    h: I,
    w: I,
    c: I,
    oh: I,
    ow: I,
    fh: I,
    fw: I,
    sh: I,
    sw: I,
    top: I,
    left: I,
  ): void;
  wino_in: InputTransform;
  wino4_in: InputTransform;
  wino_gemm(v: I, u: I, m: I, quads: I, cp: I, kb: I, posV: I, posU: I, posM: I, npos: I): void;
  wino_out(
    m: I,
    out: I,
    bias: I,
    t0: I,
    cnt: I,
    tw: I,
    th: I,
    kv: I,
    tileM: I,
    posM: I,
    pixB: I,
    rowB: I,
    imgB: I,
    lo: number,
  ): void;
  wino4_out(
    m: I,
    out: I,
    bias: I,
    t0: I,
    cnt: I,
    tw: I,
    th: I,
    kv: I,
    tileM: I,
    posM: I,
    pixB: I,
    rowB: I,
    imgB: I,
    lo: number,
  ): void;
  /** The filter gradient's W = A dY A^T, F(2x2, 3x3) and F(4x4, 3x3). */
  wino_dy: DyTransform;
  wino4_dy: DyTransform;
  wino_fgemm(
    v: I,
    w: I,
    s: I,
    cnt: I,
    cq: I,
    kb: I,
    posV: I,
    posW: I,
    posS: I,
    tileV: I,
    tileW: I,
    npos: I,
  ): void;
  /** Y = L X L^T (see kernels.wat): the filter transform G g G^T. */
  wino_filter: MatrixTransform;
  wino4_filter: MatrixTransform;
  /** The filter gradient's G^T S G. */
  wino_back: MatrixTransform;
  wino4_back: MatrixTransform;
}

let compiledModule: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();
/**
 * Set `enabled` to false to turn the SIMD kernels off (tests and benchmarks compare both
 * paths). `wrap`, where set before the first kernel runs, gets the module's functions once
 * per heap and returns what the kernels call instead (bench/profile-step.mjs --simd times
 * each function this way).
 */
export const simdKernelsSwitch: {
  enabled: boolean;
  wrap: ((kernels: SimdKernels) => SimdKernels) | null;
} = { enabled: true, wrap: null };

function compiled(): WebAssembly.Module | null {
  if (compiledModule === undefined) {
    try {
      const bin = atob(KERNELS_WASM_BASE64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      compiledModule = new WebAssembly.Module(bytes); // throws where SIMD is unsupported
    } catch {
      compiledModule = null;
    }
  }
  return compiledModule;
}

/** The emscripten module's memory (its name differs between emscripten versions). */
function memoryOf(wasmModule: unknown): WebAssembly.Memory | null {
  const m = wasmModule as {
    asm?: { memory?: unknown };
    wasmMemory?: unknown;
  } | null;
  const mem = m?.asm?.memory ?? m?.wasmMemory;
  return mem instanceof WebAssembly.Memory ? mem : null;
}

/** The SIMD kernels for this backend's heap, or null where they cannot run. */
export function simdKernelsFor(backend: BackendWasm): SimdKernels | null {
  if (!simdKernelsSwitch.enabled) return null;
  const memory = memoryOf((backend as unknown as { wasm: unknown }).wasm);
  if (memory === null) return null;
  let inst = instances.get(memory);
  if (inst === undefined) {
    const mod = compiled();
    try {
      inst = mod
        ? (new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as SimdKernels)
        : null;
      if (inst !== null && simdKernelsSwitch.wrap !== null) inst = simdKernelsSwitch.wrap(inst);
    } catch {
      inst = null; // a shared memory (the threaded build): the import is not shared
    }
    instances.set(memory, inst);
  }
  return inst;
}

/** The byte address of a float32 tensor in the wasm heap. */
export function addressOf(backend: BackendWasm, info: { dataId: object }): number {
  return (backend.dataIdMap.get(info.dataId) as { memoryOffset: number }).memoryOffset;
}
