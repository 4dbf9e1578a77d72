/**
 * QuantOptimizer: quantization-aware training around any tf.Optimizer.
 *
 * It keeps a latent full-precision copy of every quantized variable. Each step:
 * restore the latent weights, let the base optimizer update them (and apply
 * decoupled weight decay), save them, refresh the levels Q every `quantPeriod`
 * steps (after `warmupSteps` of plain training), and apply the prox map, so the
 * model always holds the mapped weights. Swapping values uses `Variable.assign`,
 * which shares buffers rather than copying, and every step is tfjs ops on the
 * model's backend: no data is read back to JavaScript.
 *
 * AProx: with `quantShrink`, weights are divided by `max(1, cumulative lr)`
 * before quantizing. NM-SGD: with `nmGamma > 0`, the normal-map correction
 * `-lr / nmGamma * (latent - mapped)` is added after the base step, and
 * `nmGamma` replaces the cumulative lr as the shrink factor.
 *
 * Fused (the QAT skeleton's `holdBack`): where the base is tfjs's SGD, Momentum or Adam and
 * the backend has the kernel (cpu, webgpu, wasm with its SIMD module), a quantized variable's
 * base update and prox map run as one kernel (fused-step.ts: the same float32 ops, on cpu and
 * wasm the same bits; one pass through memory instead of five for momentum or fifteen for
 * Adam), the float variables' updates one kernel each; the base optimizer keeps every
 * variable's state, which it creates.
 */
import * as tf from '@tensorflow/tfjs';
import { PROX_MODES } from '../prox/kernel-modes.js';
import { ProxHardQuant, ProxMap } from '../prox/proxmap.js';
import { proxMapFromConfig, serializeProxMap } from '../prox/registry.js';
import type { QatSchedule } from './inspection.js';
import type { Defaults } from './param-groups.js';
import { QATOptimizer, type QATOptimizerOptions, type QatSlot } from './qat-optimizer.js';

export type { NamedTensor } from './qat-optimizer.js';

/** What QuantOptimizer's own options default to (also the training config's defaults). */
export const QUANT_OPTIMIZER_DEFAULTS = Object.freeze({
  quantPeriod: 10,
  quantShrink: false,
  annealWdFrac: 0,
  nmGamma: 0,
});

export interface QuantOptimizerOptions extends QATOptimizerOptions {
  /** Default prox map of the groups. Default: hard quantization (STE). */
  prox?: ProxMap;
  /** Refresh Q every this many steps. Default 10. */
  quantPeriod?: number;
  /** AProx: quantize `w / max(1, cumulative lr)`. Default false. */
  quantShrink?: boolean;
  /** Fraction of weight decay annealed with PARQ's inverse slope, in [0, 1]. Default 0. */
  annealWdFrac?: number;
  /** NM-SGD normal-map parameter; > 0 enables the variant. */
  nmGamma?: number;
}

export class QuantOptimizer extends QATOptimizer {
  static className = 'QuantOptimizer';

  readonly prox: ProxMap;
  readonly quantPeriod: number;
  readonly quantShrink: boolean;
  readonly annealWdFrac: number;
  readonly nmGamma: number;
  readonly shadowName = 'latent';
  readonly schedule: QatSchedule;

  /** Sum of the learning rates of the QAT steps so far. */
  cumulativeLr = 0;
  protected readonly prefix = 'parq/';
  protected readonly slotKeys = ['latent', 'correction'];
  protected readonly stateFields = ['cumulative lr (high)', 'cumulative lr (low)', 'wd scale'];
  private wdScale = 1;

  constructor(options: QuantOptimizerOptions) {
    super(options);
    this.prox = options.prox ?? new ProxHardQuant();
    const D = QUANT_OPTIMIZER_DEFAULTS;
    this.quantPeriod = options.quantPeriod ?? D.quantPeriod;
    this.quantShrink = options.quantShrink ?? D.quantShrink;
    this.annealWdFrac = options.annealWdFrac ?? D.annealWdFrac;
    this.nmGamma = options.nmGamma ?? D.nmGamma;
    if (!Number.isInteger(this.quantPeriod) || this.quantPeriod < 1) {
      throw new Error(`quantPeriod must be an integer >= 1, got ${this.quantPeriod}`);
    }
    if (!(this.annealWdFrac >= 0 && this.annealWdFrac <= 1)) {
      throw new Error(`annealWdFrac must be in [0, 1], got ${this.annealWdFrac}`);
    }
    if (!(this.nmGamma >= 0)) throw new Error(`nmGamma must be >= 0, got ${this.nmGamma}`);
    const prox = this.prox;
    this.schedule = {
      name: 'inverse slope',
      key: 'inverseSlope',
      at: (step) => prox.inverseSlope(step),
      varies: prox.annealed,
    };
  }

  protected override defaults(): Defaults {
    return { ...super.defaults(), prox: this.prox };
  }

  /** PARQ's inverse slope (or the map's analogue) at the current step. */
  get inverseSlope(): number | undefined {
    return this.prox.inverseSlope(this.step);
  }

  /** The latent full-precision weights of a quantized variable (not a copy: don't dispose). */
  getLatent(variable: string | { name: string }): tf.Tensor | null {
    return this.getShadow(variable);
  }

  /** The model gets its latent weights back (the first time: they are saved from it). */
  protected override beforeBaseStep(slots: QatSlot[]): void {
    tf.tidy(() => {
      for (const s of slots) {
        const v = s.entry.variable;
        const latent = s.tensors.get('latent');
        if (!latent) {
          this.setSlotTensor(s, 'latent', v);
          continue;
        }
        // NM-SGD (the reference's _correct_param): remember latent - mapped for the correction.
        if (this.nmGamma > 0) this.setSlotTensor(s, 'correction', tf.sub(latent, v));
        v.assign(latent);
      }
    });
  }

  /** The fused step where it can run: not with NM-SGD's correction or AProx's shrink. */
  protected override fusesBaseStep(): boolean {
    return this.nmGamma === 0 && !this.quantShrink;
  }

  protected override afterBaseStep(slots: QatSlot[], lr: number): void {
    this.cumulativeLr += lr;
    const refresh = (this.step - this.warmupSteps) % this.quantPeriod === 0;
    // The reference's _get_gamma: NM-SGD shrinks by its gamma, AProx by the cumulative lr.
    const shrink = this.nmGamma > 0 ? this.nmGamma : Math.max(1, this.cumulativeLr);
    // one scope for every variable: a scope per variable costs more than the step's small ops
    tf.tidy(() => {
      for (const s of slots) this.quantizeSlot(s, lr, refresh, shrink);
    });
    this.updateWeightDecayScale();
  }

  /**
   * A held-back variable's base update, fused with its map on a step that keeps Q and whose
   * map is a kernel mode (then true: done); else the update alone, the model holding the new
   * latent weights for the rest of quantizeSlot (false, also for a variable not held back).
   */
  private fusedUpdate(s: QatSlot, refresh: boolean, prox: ProxMap): boolean {
    if (!this.isHeld(s)) return false;
    const km = refresh || !s.levels ? null : prox.kernelMode(this.step);
    const map = km && km !== 'identity' ? km : null;
    const r = this.heldStep(
      s,
      map ? { levels: s.levels as tf.Tensor3D, mode: PROX_MODES[map.mode], param: map.param } : {},
    );
    const v = s.entry.variable;
    if (r.mapped) {
      this.setSlotTensor(s, 'latent', r.latent);
      v.assign(r.mapped);
      return true;
    }
    v.assign(r.latent);
    return false;
  }

  /** Save the latent weights, then apply the prox map: the model holds the mapped weights. */
  private quantizeSlot(s: QatSlot, lr: number, refresh: boolean, shrink: number): void {
    const { variable: v, view } = s.entry;
    const prox = s.entry.prox ?? this.prox;
    if (this.fusedUpdate(s, refresh, prox)) return;
    const correction = s.tensors.get('correction');
    if (correction) v.assign(tf.add(v, tf.mul(correction, -lr / this.nmGamma)));
    this.setSlotTensor(s, 'latent', v);
    let p: tf.Tensor = v;
    if (this.quantShrink) p = tf.div(p, shrink);
    const pView = tf.reshape(p, view.view) as tf.Tensor3D;
    const q =
      refresh || !s.levels ? this.refreshLevels(s, pView, prox.usesQuantized(this.step)) : null;
    const mapped = prox.apply(pView, q, s.levels as tf.Tensor3D, this.step);
    if (mapped) v.assign(tf.reshape(mapped, v.shape));
    else if (this.quantShrink) v.assign(p);
  }

  protected override decayScale(quantizedGroup: boolean): number {
    return quantizedGroup ? this.wdScale : 1;
  }

  /** annealWdFrac: weight decay follows the inverse slope (as the reference, only while it is > 0). */
  private updateWeightDecayScale(): void {
    if (this.annealWdFrac <= 0) return;
    const inv = this.prox.inverseSlope(this.step);
    if (inv) this.wdScale = inv * this.annealWdFrac + (1 - this.annealWdFrac);
  }

  protected stateValues(): number[] {
    const hi = Math.fround(this.cumulativeLr);
    return [hi, this.cumulativeLr - hi, this.wdScale];
  }

  protected setStateValues([hi, lo, wdScale]: number[]): void {
    this.cumulativeLr = hi + lo;
    this.wdScale = wdScale;
  }

  protected ownConfig(): Record<string, unknown> {
    return {
      prox: serializeProxMap(this.prox),
      quantPeriod: this.quantPeriod,
      quantShrink: this.quantShrink,
      annealWdFrac: this.annealWdFrac,
      nmGamma: this.nmGamma,
    };
  }

  protected static override reviveOptions(o: Record<string, unknown>): Record<string, unknown> {
    return { ...o, prox: proxMapFromConfig(o.prox as Parameters<typeof proxMapFromConfig>[0]) };
  }
}

tf.serialization.registerClass(QuantOptimizer);
