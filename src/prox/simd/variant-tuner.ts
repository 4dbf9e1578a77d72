// Picks the faster of two interchangeable implementations by timing real calls.
//
// The prox maps have two WebAssembly modules that give the same bits (prox.wat's SIMD128 and
// relaxed-SIMD builds, scripts/build-simd.mjs); which is faster depends on the CPU: the relaxed
// one picks levels with `vblendvps`, one micro-op on AMD Zen (PARQ 1.15-1.38x faster there)
// and more on some Intel cores (on an AVX-512 Xeon an earlier laneselect build of the PARQ
// loop measured slower, BENCHMARKS.md). No API tells a page or a Node process which core it
// runs on, so the first calls decide: the calls of at least `minItems`
// items alternate between the two, the first `warm` of each are not counted (V8 compiles a
// hot wasm function's optimized code in the background, so early calls can run baseline code),
// then `trials` of each are; the one with the smaller total time per item wins for good.
// Totals rather than medians: a browser's coarse clock (100 us steps without cross-origin
// isolation) still averages out over several calls. Smaller calls go to choice 0 (the
// baseline) until then, untimed. A wrong pick costs speed, never results.
export type Choice = 0 | 1;

/** Options of a VariantTuner (the defaults suit the prox maps' calls). */
export interface VariantTunerOptions {
  /** Calls of each choice not counted first. Default 4. */
  warm?: number;
  /** Counted calls of each choice before deciding. Default 8. */
  trials?: number;
  /** Calls with fewer items are not timed. Default 16384. */
  minItems?: number;
  /** The clock, in any unit. Default performance.now. */
  now?: () => number;
}

/** One decision between choice 0 (the baseline) and choice 1, as described above. */
export class VariantTuner {
  private readonly warm: number;
  private readonly trials: number;
  readonly minItems: number;
  private readonly now: () => number;
  private next: Choice = 0;
  private readonly calls = [0, 0];
  private readonly time = [0, 0];
  private readonly items = [0, 0];
  /** The choice every call takes from now on, or null while the calls are still timed. */
  winner: Choice | null = null;

  constructor(options: VariantTunerOptions = {}) {
    this.warm = options.warm ?? 4;
    this.trials = options.trials ?? 8;
    this.minItems = options.minItems ?? 16384;
    this.now = options.now ?? (() => performance.now());
  }

  /** The choice for a call of `items` items. */
  choose(items: number): Choice {
    if (this.winner !== null) return this.winner;
    if (items < this.minItems) return 0;
    const c = this.next;
    this.next = c === 0 ? 1 : 0;
    return c;
  }

  /** A start time for `record` while the calls are timed (0 once decided: no clock read). */
  start(): number {
    return this.winner === null ? this.now() : 0;
  }

  /** After a call `choose(items)` gave `choice` for, started at `t0` (from `start`). */
  record(choice: Choice, items: number, t0: number): void {
    if (this.winner !== null || items < this.minItems) return;
    const dt = this.now() - t0;
    if (this.calls[choice]++ < this.warm) return;
    this.time[choice] += dt;
    this.items[choice] += items;
    const counted = (k: Choice) => this.calls[k] - this.warm;
    if (counted(0) >= this.trials && counted(1) >= this.trials) {
      // per item: the two choices' calls may differ in size; a tie keeps the baseline
      this.winner = this.time[1] / this.items[1] < this.time[0] / this.items[0] ? 1 : 0;
    }
  }
}
