/**
 * The fused prox maps in WebAssembly SIMD (prox.wat), run on the tfjs wasm
 * backend's heap: the module imports the backend's memory, so it reads the
 * weights and writes the output tensor in place, four weights per instruction.
 * It covers groups of at most four levels (1 and 2 bits, ternary) for hard
 * quantization, PARQ and BinaryRelax: contiguous groups (C = 1, `run`) and
 * per-channel groups on the last axis (C > 1, `lanes`: one lane per channel);
 * the caller keeps the JavaScript loop for everything else, and where SIMD or
 * the memory is missing.
 */
import { PROX_RELAXED_WASM_BASE64, PROX_WASM_BASE64 } from './prox-wasm.js';
import { simdModulePair } from '../../backend/wasm/simd/index.js';
import { PROX_MODES } from '../kernel-modes.js';
import { VariantTuner } from './variant-tuner.js';

/** Tables of one group, as `GroupTables` in fused-kernel.ts fills them. */
export interface ProxTables {
  /** the group's `k` levels, ascending */
  readonly lv: Float32Array;
  /** thresholds (midpoints for hard/relax, levels for parq), +Infinity padded to four */
  readonly th: Float64Array;
}

type F = number;
interface ProxExports {
  hard(x: F, out: F, n: F, t0: F, t1: F, t2: F, l0: F, l1: F, l2: F, l3: F): void;
  relax(x: F, out: F, n: F, keep: F, take: F, t0: F, t1: F, t2: F, ...levels: F[]): void;
  parq(x: F, out: F, n: F, invSlope: F, t0: F, t1: F, t2: F, t3: F, ...levels: F[]): void;
  lanes(mode: F, x: F, out: F, A: F, M: F, C: F, levels: F, k: F, p: F, q: F): void;
  momentum(kind: F, g: F, a: F, x: F, aOut: F, xOut: F, n: F, m: F, c: F): void;
  adam(g: F, m: F, v: F, x: F, mOut: F, vOut: F, xOut: F, n: F, ...scalars: F[]): void;
  augment(g: F, lam: F, x: F, z: F, out: F, n: F, rho: F): void;
}

/** How many contiguous groups `run` mapped, and how many views `lanes` mapped (for tests and benchmarks). */
export const simdStats = { groups: 0, lanes: 0 };

/** Which module runs: the relaxed-SIMD one (laneselect level picks), or SIMD128. */
export type SimdProxVariant = 'relaxed' | 'simd128';

const modules = simdModulePair(PROX_WASM_BASE64, PROX_RELAXED_WASM_BASE64);
const instances = new WeakMap<WebAssembly.Memory, Map<SimdProxVariant, SimdProx | null>>();

/**
 * What the maps run here (simdModulePair's `variant`): 'relaxed' where the runtime has
 * relaxed SIMD and `simdKernelsSwitch.relaxed` allows it: both modules, PARQ's and
 * BinaryRelax's calls going to the one their first calls timed faster (SimdProx); else
 * 'simd128' where it has SIMD; else null. The two give the same bits: the relaxed one only
 * picks levels with one blend a level instead of two or three bit ops (scripts/build-simd.mjs).
 */
export function simdProxVariant(): SimdProxVariant | null {
  return modules.variant();
}

/** The emscripten module's memory (its name differs between emscripten versions). */
export function heapMemoryOf(wasmModule: any): WebAssembly.Memory | null {
  const mem = wasmModule?.asm?.memory ?? wasmModule?.wasmMemory ?? wasmModule?.['asm']?.['memory'];
  return typeof WebAssembly === 'object' && mem instanceof WebAssembly.Memory ? mem : null;
}

/**
 * The SIMD maps bound to one memory: `x`, `out` are byte addresses in it. With a second,
 * relaxed-SIMD instance (the same bits), PARQ's and BinaryRelax's calls go to whichever of
 * the two the first calls timed faster on this machine (variant-tuner.ts), one decision each
 * for contiguous groups and channel lanes; hard quantization's code is the same in both.
 */
export class SimdProx {
  private readonly tuners: VariantTuner[] | null;

  constructor(
    private readonly fn: ProxExports,
    private readonly relaxed: ProxExports | null = null,
  ) {
    this.tuners = relaxed ? [0, 1, 2, 3].map(() => new VariantTuner()) : null;
  }

  private tuner(mode: number, lanes: boolean): VariantTuner | null {
    if (this.tuners === null || mode === PROX_MODES.hard) return null;
    return this.tuners[(mode === PROX_MODES.parq ? 0 : 2) + (lanes ? 1 : 0)];
  }

  /**
   * The module that a mode's calls (contiguous, or `lanes`) of `items` weights run now:
   * 'simd128' or 'relaxed', or 'timing' while the first calls of that size are still timed.
   */
  variant(mode: number, lanes: boolean, items = Infinity): SimdProxVariant | 'timing' {
    const t = this.tuner(mode, lanes);
    if (t === null) return 'simd128';
    if (t.winner === null) return items < t.minItems ? 'simd128' : 'timing';
    return t.winner === 1 ? 'relaxed' : 'simd128';
  }

  /** Map `n` weights of one group: mode 0 hard, 1 PARQ (param: inverse slope), 2 BinaryRelax (param: theta). */
  run(mode: number, x: number, out: number, n: number, g: ProxTables, param: number): void {
    const { lv, th } = g;
    const k = lv.length;
    // levels padded with the last (never selected: those thresholds are +Infinity)
    const l0 = lv[0];
    const l1 = lv[Math.min(1, k - 1)];
    const l2 = lv[Math.min(2, k - 1)];
    const l3 = lv[Math.min(3, k - 1)];
    simdStats.groups++;
    if (mode === PROX_MODES.hard) {
      this.fn.hard(x, out, n, th[0], th[1], th[2], l0, l1, l2, l3);
      return;
    }
    const tuner = this.tuner(mode, false);
    const choice = tuner ? tuner.choose(n) : 0;
    const fn = choice === 1 ? (this.relaxed as ProxExports) : this.fn;
    const t0 = tuner ? tuner.start() : 0;
    if (mode === PROX_MODES.relax)
      // f32 parameters: 1 - theta rounds once, as tfjs rounds the JS number into a scalar
      fn.relax(x, out, n, 1 - param, param, th[0], th[1], th[2], l0, l1, l2, l3);
    else fn.parq(x, out, n, param, th[0], th[1], th[2], th[3], l0, l1, l2, l3);
    tuner?.record(choice, n, t0);
  }

  /**
   * Map a whole view `[A, M, C]` at `x` with levels `[A, k, C]` (k <= 4) at
   * byte address `levels`, one SIMD lane per channel (the last axis): mode 0
   * hard, 1 PARQ (param: inverse slope), 2 BinaryRelax (param: theta).
   */
  lanes(
    mode: number,
    x: number,
    out: number,
    [A, M, C]: readonly [number, number, number],
    levels: number,
    k: number,
    param: number,
  ): void {
    simdStats.lanes++;
    const [p, q] = mode === PROX_MODES.relax ? [1 - param, param] : [param, 0];
    const n = A * M * C;
    const tuner = this.tuner(mode, true);
    const choice = tuner ? tuner.choose(n) : 0;
    const fn = choice === 1 ? (this.relaxed as ProxExports) : this.fn;
    const t0 = tuner ? tuner.start() : 0;
    fn.lanes(mode, x, out, A, M, C, levels, k, p, q);
    tuner?.record(choice, n, t0);
  }

  /**
   * The base optimizer's update of `n` weights before a map (src/optim/fused-step.ts): kind
   * 0 SGD `x' = c*g + x`, 1 momentum `a' = m*a + g, x' = c*a' + x`, 2 Nesterov (`x' = c*(g +
   * a'*m) + x`), c = -lr, as tfjs's optimizers compute them; byte addresses.
   */
  momentum(
    kind: number,
    g: number,
    a: number,
    x: number,
    aOut: number,
    xOut: number,
    n: number,
    m: number,
    c: number,
  ): void {
    this.fn.momentum(kind, g, a, x, aOut, xOut, n, m, c);
  }

  /**
   * tfjs's Adam on `n` weights before a map: moments `m`, `v` to `mOut`, `vOut`, weights `x`
   * to `xOut` (byte addresses); `k` holds b1, ob1 (1 - beta1), b2, ob2, the bias corrections
   * s1, s2 (1 - beta^t before the step), eps and nlr (-lr), as tfjs rounds them.
   */
  adam(
    g: number,
    m: number,
    v: number,
    x: number,
    mOut: number,
    vOut: number,
    xOut: number,
    n: number,
    k: Readonly<Record<string, number>>,
  ): void {
    this.fn.adam(
      g,
      m,
      v,
      x,
      mOut,
      vOut,
      xOut,
      n,
      k.b1,
      k.ob1,
      k.b2,
      k.ob2,
      k.s1,
      k.s2,
      k.eps,
      k.nlr,
    );
  }

  /** ADMM-Q's gradient `(g + lam) + (x - z)*rho` of `n` weights to `out` (byte addresses). */
  augment(g: number, lam: number, x: number, z: number, out: number, n: number, rho: number): void {
    this.fn.augment(g, lam, x, z, out, n, rho);
  }
}

/**
 * The SIMD maps for a wasm backend's emscripten module (`backend.wasm`), or
 * null where they can't run (no SIMD, memory not found or shared): then the
 * caller keeps its JavaScript loop. The variant is `simdProxVariant()`'s at each
 * call; one instance per memory and variant: the memory object stays valid when
 * the heap grows, and so does the instance.
 */
export function simdProxFor(wasmModule: unknown): SimdProx | null {
  const memory = heapMemoryOf(wasmModule);
  const variant = simdProxVariant();
  return memory && variant ? simdProxOn(memory, variant) : null;
}

/** One module's functions on a memory, or null where it can't be (a shared memory). */
function instantiate(memory: WebAssembly.Memory, variant: SimdProxVariant): ProxExports | null {
  const mod = modules.compiled(variant);
  if (!mod) return null;
  try {
    return new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as ProxExports;
  } catch {
    return null; // e.g. a shared memory (the threaded backend): the import is not shared
  }
}

/**
 * The maps bound to a memory (cached per memory and variant): 'simd128' the SIMD128 module,
 * 'relaxed' both modules with the timed choice (SimdProx); null where they can't run.
 */
export function simdProxOn(memory: WebAssembly.Memory, variant: SimdProxVariant): SimdProx | null {
  let byVariant = instances.get(memory);
  if (byVariant === undefined) instances.set(memory, (byVariant = new Map()));
  let inst = byVariant.get(variant);
  if (inst === undefined) {
    const base = instantiate(memory, 'simd128');
    const relaxed = variant === 'relaxed' && base ? instantiate(memory, 'relaxed') : null;
    inst = base ? new SimdProx(base, relaxed) : null;
    byVariant.set(variant, inst);
  }
  return inst;
}

/** One module's maps alone on a memory, with no choice made (tests, benchmarks), or null. */
export function simdProxModule(
  memory: WebAssembly.Memory,
  variant: SimdProxVariant,
): SimdProx | null {
  const fn = instantiate(memory, variant);
  return fn ? new SimdProx(fn) : null;
}
