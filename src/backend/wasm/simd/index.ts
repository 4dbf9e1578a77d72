// The SIMD training kernels (kernels.wat) bound to a tfjs wasm backend's heap: the module
// imports the backend's memory, so it reads and writes tensors in place (pointers are byte
// addresses in that heap). Null where they cannot run: no WebAssembly SIMD, the memory not
// found, or a shared memory (the threaded build): the kernels then keep their other paths.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '../kernel-utils.js';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels-wasm.js';

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
  /**
   * The double sum of `n` float32 at `x` in sumRange's order (exact-reduction.ts): mode 0 the
   * values, 1 |x|, 2 | |x| - v | (the difference rounded to float32).
   */
  sum4(x: I, n: I, mode: I, v: number): number;
  /**
   * Per-channel double sums down the rows of `[M, C]` at `x`, each in row order, into C f64 at
   * `out`: mode 1 |x|, 2 | |x| - v[c] | (v: C float32 at `v`).
   */
  colsum4(x: I, M: I, C: I, mode: I, v: I, out: I): void;
  /** Greedy LSBQ's 2-bit q of `n` float32 at `x` into `out`: t[j], j = #{-v0, 0, v0 above x}. */
  lsbq_q2(x: I, out: I, n: I, v0: number, t0: number, t1: number, t2: number, t3: number): void;
  bn_sums(x: I, shift: I, g: I, s1: I, s2: I, rows: I, cols: I): void;
  bn_affine(x: I, mean: I, scale: I, shift: I, g: I, gscale: I, out: I, rows: I, cols: I): void;
  relu_grad(dy: I, x: I, out: I, n: I): void;
  mulrows(a: I, b: I, out: I, rows: I, cols: I): void;
  addrows(a: I, b: I, out: I, rows: I, cols: I): void;
  padrows(x: I, out: I, rows: I, cols: I, colsOut: I): void;
  /**
   * The zero-padded frame of n images (kernel-utils.ts's copyIntoFrame): hp rows of rowB
   * bytes at out, frame row r from row r - top of x (one of h rows, else zero): leftB zero
   * bytes, copyB bytes of that row (rows srcRowB, images srcImgB bytes apart), zero after.
   */
  frame(
    x: I,
    out: I,
    n: I,
    h: I,
    hp: I,
    top: I,
    rowB: I,
    leftB: I,
    copyB: I,
    srcRowB: I,
    srcImgB: I,
  ): void;
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

/** Which module runs: the relaxed-SIMD one (fused multiply-adds), or SIMD128. */
export type SimdKernelVariant = 'relaxed' | 'simd128';

const instances = new WeakMap<WebAssembly.Memory, Map<SimdKernelVariant, SimdKernels | null>>();
/**
 * Set `enabled` to false to turn the SIMD kernels off (tests and benchmarks compare both
 * paths). `relaxed` (default true) lets the kernels use the relaxed-SIMD module where the
 * runtime validates it: the GEMM loops of the convolutions then take `f32x4.relaxed_madd`, a
 * fused multiply-add on CPUs that have one (results differ from the SIMD128 module by the
 * rounding of the product, deterministically on one machine); set it to false for the
 * SIMD128 module everywhere (it also picks the prox maps' module, src/prox/simd, whose two
 * variants give the same bits). `wrap`, where set before the first kernel runs, gets the module's
 * functions once per heap and returns what the kernels call instead (bench/profile-step.mjs
 * --simd times each function this way).
 */
export const simdKernelsSwitch: {
  enabled: boolean;
  relaxed: boolean;
  wrap: ((kernels: SimdKernels) => SimdKernels) | null;
} = { enabled: true, relaxed: true, wrap: null };

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * A module from its base64 bytes, or null where this runtime can't compile it: validated first
 * (an unsupported feature, SIMD or relaxed SIMD, is then no exception), and compiling refused
 * (a page whose content policy forbids it) gives null too. The prox maps' modules use it too.
 */
export function compileModule(base64: string): WebAssembly.Module | null {
  const bytes = decode(base64);
  try {
    return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    return null;
  }
}

/**
 * A module's two builds, SIMD128 and relaxed, each compiled once at its first use, and which of
 * them runs: 'relaxed' where the runtime has relaxed SIMD (V8 11.4 on: Chrome and Edge 114+,
 * Node 22+; Node 20 with --experimental-wasm-relaxed-simd) and `simdKernelsSwitch.relaxed`
 * allows it, else 'simd128' where it has SIMD, else null. The kernels' module and the prox
 * maps' (src/prox/simd) are two such pairs.
 */
export function simdModulePair(simd128Base64: string, relaxedBase64: string) {
  const cache = new Map<SimdKernelVariant, WebAssembly.Module | null>();
  pairCaches.push(cache);
  const compiled = (variant: SimdKernelVariant): WebAssembly.Module | null => {
    let mod = cache.get(variant);
    if (mod === undefined) {
      mod = compileModule(variant === 'relaxed' ? relaxedBase64 : simd128Base64);
      cache.set(variant, mod);
    }
    return mod;
  };
  const variant = (): SimdKernelVariant | null => {
    if (simdKernelsSwitch.relaxed && compiled('relaxed') !== null) return 'relaxed';
    return compiled('simd128') !== null ? 'simd128' : null;
  };
  return { compiled, variant };
}

/** Every pair's compiled modules (for `forgetUncompiledModules`). */
const pairCaches: Map<SimdKernelVariant, WebAssembly.Module | null>[] = [];

/**
 * Forgets, in every module pair, the builds this runtime could not compile, so that their
 * next use tries again: after a runtime flag turned the feature on (relaxed-simd-flag.ts).
 */
export function forgetUncompiledModules(): void {
  for (const cache of pairCaches) {
    for (const [variant, mod] of [...cache]) if (mod === null) cache.delete(variant);
  }
}

const kernelModules = simdModulePair(KERNELS_WASM_BASE64, KERNELS_RELAXED_WASM_BASE64);

/** True when this runtime compiles the kernels' relaxed-SIMD module (whatever the switch). */
export function relaxedSimdCompiles(): boolean {
  return kernelModules.compiled('relaxed') !== null;
}

/** The kernels' module that runs here (simdModulePair's `variant`). */
export function simdKernelVariant(): SimdKernelVariant | null {
  return kernelModules.variant();
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

/**
 * The SIMD kernels for this backend's heap, or null where they cannot run. `relaxed: false`:
 * the SIMD128 module even where the relaxed one runs (MatMul asks so: see batch-mat-mul.ts).
 */
export function simdKernelsFor(
  backend: BackendWasm,
  { relaxed = true }: { relaxed?: boolean } = {},
): SimdKernels | null {
  if (!simdKernelsSwitch.enabled) return null;
  const memory = memoryOf((backend as unknown as { wasm: unknown }).wasm);
  if (memory === null) return null;
  const best = simdKernelVariant();
  if (best === null) return null;
  const variant = relaxed ? best : 'simd128';
  let byVariant = instances.get(memory);
  if (byVariant === undefined) instances.set(memory, (byVariant = new Map()));
  let inst = byVariant.get(variant);
  if (inst === undefined) {
    try {
      inst = new WebAssembly.Instance(kernelModules.compiled(variant) as WebAssembly.Module, {
        env: { memory },
      }).exports as unknown as SimdKernels;
      if (simdKernelsSwitch.wrap !== null) inst = simdKernelsSwitch.wrap(inst);
    } catch {
      inst = null; // a shared memory (the threaded build): the import is not shared
    }
    byVariant.set(variant, inst);
  }
  return inst;
}

/** The byte address of a float32 tensor in the wasm heap. */
export function addressOf(backend: BackendWasm, info: { dataId: object }): number {
  return (backend.dataIdMap.get(info.dataId) as { memoryOffset: number }).memoryOffset;
}

/**
 * Which build of these kernels the active tfjs backend runs: 'relaxed' or 'simd128' on wasm,
 * null elsewhere (another backend, no SIMD, or the threaded build, whose shared heap they
 * cannot use). Runs record it (RunMetrics.simd): the two builds round convolutions differently.
 */
export function wasmSimdInUse(): SimdKernelVariant | null {
  if (tf.getBackend() !== 'wasm') return null;
  return simdKernelsFor(tf.backend() as unknown as BackendWasm) ? simdKernelVariant() : null;
}
