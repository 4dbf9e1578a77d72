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
 * Fused: where the base is tfjs's SGD, Momentum or Adam and the backend has the kernel (cpu,
 * wasm), a quantized variable's base update and prox map run as one kernel (fused-step.ts:
 * the same float32 ops, the same bits, one pass through memory instead of five for momentum
 * or fifteen for Adam); the base optimizer still steps every other variable and keeps their
 * state and that of the quantized ones.
 */
import * as tf from '@tensorflow/tfjs';
import { PROX_MODES } from '../prox/kernel-modes.js';
import { ProxHardQuant, ProxMap } from '../prox/proxmap.js';
import { proxMapFromConfig, serializeProxMap } from '../prox/registry.js';
import { type BaseUpdate, baseUpdateOf } from './base-update.js';
import { FUSED_STEP_KERNEL, fusedStep, fusedStepRuns } from './fused-step.js';
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
  fuseBaseStep: true,
});

type Grads = tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[];

/** A quantized variable's gradient held back from the base optimizer for the fused step. */
interface Deferred {
  grad: tf.Tensor;
  /** its position in the gradients: the base optimizer's index of its accumulation */
  index: number;
}

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
  /**
   * Run a quantized variable's base update and prox map as one kernel where they can be
   * (base tf.train.sgd, momentum or adam; cpu, or wasm with its SIMD module; no NM-SGD, no
   * quantShrink): the same values bit for bit, faster. Default true; false steps composed.
   */
  fuseBaseStep?: boolean;
}

export class QuantOptimizer extends QATOptimizer {
  static className = 'QuantOptimizer';

  readonly prox: ProxMap;
  readonly quantPeriod: number;
  readonly quantShrink: boolean;
  readonly annealWdFrac: number;
  readonly nmGamma: number;
  readonly fuseBaseStep: boolean;
  readonly shadowName = 'latent';
  readonly schedule: QatSchedule;

  /** Sum of the learning rates of the QAT steps so far. */
  cumulativeLr = 0;
  protected readonly prefix = 'parq/';
  protected readonly slotKeys = ['latent', 'correction'];
  protected readonly stateFields = ['cumulative lr (high)', 'cumulative lr (low)', 'wd scale'];
  private wdScale = 1;
  /** This step's fused variables (gradientsForBase to afterBaseStep), and the base's update. */
  private deferred: Map<QatSlot, Deferred> | null = null;
  private update: BaseUpdate | null = null;

  constructor(options: QuantOptimizerOptions) {
    super(options);
    this.prox = options.prox ?? new ProxHardQuant();
    const D = QUANT_OPTIMIZER_DEFAULTS;
    this.quantPeriod = options.quantPeriod ?? D.quantPeriod;
    this.quantShrink = options.quantShrink ?? D.quantShrink;
    this.annealWdFrac = options.annealWdFrac ?? D.annealWdFrac;
    this.nmGamma = options.nmGamma ?? D.nmGamma;
    this.fuseBaseStep = options.fuseBaseStep ?? D.fuseBaseStep;
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

  /**
   * Fused: the quantized variables' gradients are held back (the base optimizer skips a
   * variable without one, after creating its accumulation) for quantizeSlot's one kernel.
   */
  protected override gradientsForBase(grads: Grads, names: string[]) {
    this.releaseUpdate();
    const update =
      this.fuseBaseStep && this.nmGamma === 0 && !this.quantShrink && fusedStepRuns()
        ? baseUpdateOf(this.base)
        : null;
    if (!update) return { grads, made: [] };
    const deferred = new Map<QatSlot, Deferred>();
    for (const s of this.slots ?? []) {
      const index = names.indexOf(s.entry.name);
      if (index < 0) continue;
      const grad = Array.isArray(grads) ? grads[index].tensor : grads[s.entry.name];
      if (grad) deferred.set(s, { grad, index });
    }
    if (deferred.size === 0) {
      tf.dispose(update.made);
      return { grads, made: [] };
    }
    this.deferred = deferred;
    this.update = update;
    const held = new Set([...deferred.values()].map((d) => d.index));
    const forBase = Array.isArray(grads)
      ? grads.map((g, i) => (held.has(i) ? { name: g.name, tensor: null } : g))
      : Object.fromEntries(names.map((n, i) => [n, held.has(i) ? null : grads[n]]));
    return { grads: forBase as unknown as Grads, made: [] };
  }

  protected override afterBaseStep(slots: QatSlot[], lr: number): void {
    this.cumulativeLr += lr;
    const refresh = (this.step - this.warmupSteps) % this.quantPeriod === 0;
    // The reference's _get_gamma: NM-SGD shrinks by its gamma, AProx by the cumulative lr.
    const shrink = this.nmGamma > 0 ? this.nmGamma : Math.max(1, this.cumulativeLr);
    // one scope for every variable: a scope per variable costs more than the step's small ops
    try {
      tf.tidy(() => {
        for (const s of slots) this.quantizeSlot(s, lr, refresh, shrink);
      });
    } finally {
      this.releaseUpdate();
    }
    this.updateWeightDecayScale();
  }

  /** Forgets the fused step's held-back gradients, disposing what its update made. */
  private releaseUpdate(): void {
    if (this.update) tf.dispose(this.update.made);
    this.deferred = null;
    this.update = null;
  }

  /**
   * The base update of a held-back variable, fused with its map on a step that keeps Q and
   * whose map is a kernel mode (then true: done); else the update alone, the model holding
   * the new latent weights for the rest of quantizeSlot (false).
   */
  private fusedUpdate(s: QatSlot, d: Deferred, refresh: boolean, prox: ProxMap): boolean {
    const update = this.update as BaseUpdate;
    const state = update.state(d.index);
    if (!state) {
      throw new Error(`QuantOptimizer: the base optimizer has no state for '${s.entry.name}'`);
    }
    const km = refresh || !s.levels ? null : prox.kernelMode(this.step);
    const map = km && km !== 'identity' ? km : null;
    const { variable: v, view } = s.entry;
    const r = fusedStep({
      update,
      x: v,
      g: d.grad,
      state,
      view: view.view,
      ...(map
        ? { levels: s.levels as tf.Tensor3D, mode: PROX_MODES[map.mode], param: map.param }
        : {}),
    });
    if (!r) throw new Error(`QuantOptimizer: no ${FUSED_STEP_KERNEL} kernel on this backend`);
    state.forEach((t, i) => t.assign(r.state[i]));
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
    const d = this.deferred?.get(s);
    if (d && this.fusedUpdate(s, d, refresh, prox)) return;
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
      fuseBaseStep: this.fuseBaseStep,
    };
  }

  protected static override reviveOptions(o: Record<string, unknown>): Record<string, unknown> {
    return { ...o, prox: proxMapFromConfig(o.prox as Parameters<typeof proxMapFromConfig>[0]) };
  }
}

tf.serialization.registerClass(QuantOptimizer);
