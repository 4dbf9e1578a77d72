/**
 * QATOptimizer: the skeleton every quantization-aware optimizer shares, around any
 * tf.Optimizer (the "base", which updates the weights).
 *
 * It owns what does not depend on the method: checking the options, resolving the parameter
 * groups once (at the first step, after one finiteness check of the weights), warmup steps of
 * plain training, the learning-rate schedule, decoupled weight decay, the per-variable state
 * (levels and the method's tensors, e.g. PARQ's latent weights or ADMM-Q's z and λ), saving
 * and restoring that state by name, tf.serialization, disposal, and the inspection interface.
 *
 * A method fills in hooks, as the reference does for NM-SGD (`_get_gamma`, `_correct_param`):
 * `beforeBaseStep` (e.g. restore the latent weights), `gradientsForBase` (e.g. ADMM-Q's
 * augmented gradient), `afterBaseStep` (e.g. the prox map, or the z- and dual updates),
 * `stepFinished`, `decayScale`, and its own state values and config.
 *
 * Everything in a step is tfjs ops on the model's backend: no data is read back.
 */
import * as tf from '@tensorflow/tfjs';
import {
  baseOptimizerFromConfig,
  float64Words,
  fromFloat64Words,
  groupsFromConfig,
  NamedTensor,
  serializeBaseOptimizer,
  serializeGroups,
} from './serialization.js';
import { Granularity } from '../quant/grouping.js';
import { Quantizer } from '../quant/quantizer.js';
import type { ProxMap } from '../prox/proxmap.js';
import { quantizerByName, quantizerFromConfig, serializeQuantizer } from '../quant/registry.js';
import { DEFAULT_QUANT_PATTERNS } from '../quant/patterns.js';
import { type BaseUpdate, baseUpdateOf } from './base-update.js';
import { checkFinite } from './finite.js';
import { FUSED_STEP_KERNEL, fusedStep, fusedStepRuns } from './fused-step.js';
import {
  checkGroup,
  Defaults,
  ParamGroup,
  refName,
  ResolvedEntry,
  resolveGroups,
} from './param-groups.js';
import {
  checkSchedule,
  getLearningRate,
  LrSchedule,
  scheduledLearningRate,
  setLearningRate,
} from './learning-rate.js';
import { QAT_OPTIMIZER, type QatInspection, type QatSchedule } from './inspection.js';

export type { NamedTensor };

/**
 * What a QAT optimizer's options default to: also the training config's defaults
 * (`TRAIN_FIELDS` in src/train/config.ts reads them from here).
 */
export const QAT_DEFAULTS = Object.freeze({
  /** The default quantizer's name (src/quant/registry.ts): greedy LSBQ. */
  quantizer: 'lsbq' as const,
  bits: 2,
  warmupSteps: 0,
  fuseBaseStep: true,
});

/** The options every QAT optimizer takes. */
export interface QATOptimizerOptions {
  /** The optimizer that updates the weights (sgd, momentum, adam, ...). */
  base: tf.Optimizer;
  /** Default quantizer of the groups (gives the levels). Default: greedy LSBQ. */
  quantizer?: Quantizer;
  /** Bits of the default group (used when `groups` is omitted). Default 2. */
  bits?: number;
  /** Parameter groups. Default: one group of Dense/Conv kernels at `bits`. */
  groups?: ParamGroup[];
  /** Default granularity of the groups. Default per tensor. */
  granularity?: Granularity;
  /** Steps of plain training before QAT starts. Default 0. */
  warmupSteps?: number;
  /** Learning rate per step, set on the base optimizer before each step. */
  lrSchedule?: LrSchedule;
  /**
   * Run each variable's base update (a quantized one's with the method's own work: its map,
   * or ADMM-Q's gradient) as one kernel where it can be: base tf.train.sgd, momentum or adam;
   * cpu, webgpu, or wasm with its SIMD module (fused-step.ts). The same values (bit for bit on
   * cpu and wasm), faster. Default true; false steps composed.
   */
  fuseBaseStep?: boolean;
}

/** A quantized variable's gradient held back from the base optimizer for the fused step. */
interface HeldGradient {
  grad: tf.Tensor;
  /** its position in the gradients: the base optimizer's index of its state */
  index: number;
}

/** One quantized variable's state: its levels and the method's tensors by key. */
export interface QatSlot {
  entry: ResolvedEntry;
  levels: tf.Tensor3D | null;
  tensors: Map<string, tf.Variable>;
}

type Config = tf.serialization.ConfigDict;
type Grads = tf.NamedTensorMap | NamedTensor[];

let nextOptimizerId = 0;

export abstract class QATOptimizer extends tf.Optimizer implements QatInspection {
  readonly [QAT_OPTIMIZER] = true;
  readonly base: tf.Optimizer;
  readonly quantizer: Quantizer;
  readonly groups: ParamGroup[];
  readonly granularity: Granularity;
  readonly warmupSteps: number;
  readonly lrSchedule?: LrSchedule;
  readonly fuseBaseStep: boolean;

  /** Steps taken (warmup included). */
  step = 0;

  /** Prefix of the state's tensor names in `getWeights` (`parq/`, `admmq/`). */
  protected abstract readonly prefix: string;
  /** The keys of each slot's tensors, in the order they are saved (`latent`, `z`, ...). */
  protected abstract readonly slotKeys: readonly string[];
  /** Names of the state values after the step, as saved in `<prefix>state`. */
  protected abstract readonly stateFields: readonly string[];
  abstract readonly shadowName: string;
  abstract readonly schedule: QatSchedule | undefined;
  abstract readonly prox: ProxMap | undefined;

  protected slots: QatSlot[] | null = null;
  /** This step's held-back gradients and the base's update (holdBack to the step's end). */
  private held: Map<QatSlot, HeldGradient> | null = null;
  private heldFloat: (HeldGradient & { name: string })[] = [];
  private heldUpdate: BaseUpdate | null = null;
  private owner = new Map<string, number>();
  private quantizedGroups = new Set<number>();
  private pending: Map<string, tf.Tensor> | null = null;
  private readonly id = nextOptimizerId++;
  private failure: Error | null = null;

  constructor(options: QATOptimizerOptions) {
    super();
    const what = this.getClassName();
    if (!(options?.base instanceof tf.Optimizer)) {
      throw new Error(`${what}: base must be a tf.Optimizer (e.g. tf.train.momentum(0.05, 0.9))`);
    }
    this.base = options.base;
    const bits = options.bits ?? QAT_DEFAULTS.bits;
    this.quantizer = options.quantizer ?? quantizerByName(QAT_DEFAULTS.quantizer, bits);
    this.granularity = options.granularity ?? { kind: 'tensor' };
    this.groups = options.groups ?? [{ match: DEFAULT_QUANT_PATTERNS, bits }];
    this.warmupSteps = options.warmupSteps ?? QAT_DEFAULTS.warmupSteps;
    this.fuseBaseStep = options.fuseBaseStep ?? QAT_DEFAULTS.fuseBaseStep;
    this.lrSchedule = options.lrSchedule;
    if (!Number.isInteger(this.warmupSteps) || this.warmupSteps < 0) {
      throw new Error(`${what}: warmupSteps must be an integer >= 0, got ${this.warmupSteps}`);
    }
    if (this.groups.length === 0) throw new Error(`${what}: groups is empty`);
    if (this.lrSchedule) checkSchedule(this.lrSchedule);
    this.groups.forEach((g, i) => checkGroup(g, i, this.defaults()));
  }

  /** What a group leaves unset. */
  protected defaults(): Defaults {
    return { quantizer: this.quantizer, granularity: this.granularity };
  }

  // ---- hooks -------------------------------------------------------------------------

  /** Before the base step of a QAT step (not during warmup). */
  protected beforeBaseStep(_slots: QatSlot[], _lr: number): void {}

  /** The gradients the base optimizer steps on, and the tensors to dispose after it. */
  protected gradientsForBase(grads: Grads, _names: string[]): { grads: Grads; made: tf.Tensor[] } {
    return { grads, made: [] };
  }

  /**
   * After the base step of a QAT step: the method's move toward the levels. A variable held
   * back for the fused step (`isHeld`) has not moved yet: the method runs `heldStep` on it.
   */
  protected abstract afterBaseStep(slots: QatSlot[], lr: number): void;

  /** May this step hold the variables back for the fused step (the method's options allow)? */
  protected fusesBaseStep(): boolean {
    return false;
  }

  /** After a QAT step has been counted. */
  protected stepFinished(): void {}

  /** The factor on a group's weight decay this step. */
  protected decayScale(_quantizedGroup: boolean): number {
    return 1;
  }

  /** The method's state values after `step` (saved as floats). */
  protected abstract stateValues(): number[];
  /** Restores the values `stateValues` gave (already checked). */
  protected abstract setStateValues(values: number[]): void;
  /** Throws when restored state values cannot be this method's. */
  protected checkStateValues(_values: number[]): void {}

  /** The method's options as JSON (undefined becomes null). */
  protected abstract ownConfig(): Record<string, unknown>;

  /** The method's options from the JSON of `ownConfig` (null already undefined). */
  protected static reviveOptions(options: Record<string, unknown>): Record<string, unknown> {
    return options;
  }

  // ---- inspection ---------------------------------------------------------------------

  /** The resolved quantized variables (after the first step). */
  get quantizedEntries(): readonly ResolvedEntry[] {
    return (this.slots ?? []).map((s) => s.entry);
  }

  /** Current learning rate of the base optimizer. */
  get learningRate(): number {
    return getLearningRate(this.base);
  }

  setLearningRate(lr: number): void {
    setLearningRate(this.base, lr);
  }

  /** The current levels of a quantized variable as `[groups, k]` rows (a new tensor). */
  getLevels(variable: string | { name: string }): tf.Tensor2D | null {
    const levels = this.slot(variable)?.levels;
    if (!levels) return null;
    return tf.tidy(() => {
      const [a, k, c] = levels.shape;
      return tf.reshape(tf.transpose(levels, [0, 2, 1]), [a * c, k]) as tf.Tensor2D;
    });
  }

  getShadow(variable: string | { name: string }): tf.Tensor | null {
    return this.slotTensor(variable, this.shadowName);
  }

  /** One of a quantized variable's tensors by key (not a copy: don't dispose). */
  protected slotTensor(variable: string | { name: string }, key: string): tf.Variable | null {
    return this.slot(variable)?.tensors.get(key) ?? null;
  }

  private slot(variable: string | { name: string }): QatSlot | undefined {
    const name = typeof variable === 'string' ? variable : refName(variable);
    return this.slots?.find((s) => s.entry.name === name);
  }

  /** Sets a slot's tensor: assigns it, or creates the variable the first time. */
  protected setSlotTensor(s: QatSlot, key: string, value: tf.Tensor): tf.Variable {
    const current = s.tensors.get(key);
    if (current) {
      current.assign(value);
      return current;
    }
    const v = tf.variable(value, false, `${this.prefix}${key}/${s.entry.name}/${this.id}`);
    s.tensors.set(key, v);
    return v;
  }

  /**
   * Refreshes a slot's levels from `view` with its group's quantizer; returns its hard q, or
   * null with `withQ` false (the quantizer then computes the levels alone).
   */
  protected refreshLevels(s: QatSlot, view: tf.Tensor3D, withQ = true): tf.Tensor3D | null {
    const { quantizer, bits } = s.entry;
    const { q, Q } = withQ
      ? quantizer.quantize(view, bits)
      : { q: null, Q: quantizer.levels(view, bits) };
    s.levels?.dispose();
    s.levels = tf.keep(Q);
    return q;
  }

  // ---- the step -----------------------------------------------------------------------

  /** Resolves groups against the trained variables; validates before any change. */
  private resolve(names: string[]): void {
    const { entries, owner } = resolveGroups(names, this.groups, this.defaults());
    // One read-back, once per run, before anything is mutated: weights must be finite.
    checkFinite(entries, (e) => (this.failure = e));
    this.slots = entries.map((entry) => ({ entry, levels: null, tensors: new Map() }));
    this.owner = owner;
    this.quantizedGroups = new Set(entries.map((e) => e.group));
    if (this.pending) this.restorePending(this.pending);
  }

  /**
   * Resolves the parameter groups against `variables` now, as the first step does with the
   * variables it trains (pass them in the same order, e.g. `model.trainableWeights`), and
   * applies state restored by `setWeights`: an optimizer restored from a checkpoint then shows
   * its quantized entries and levels without taking a step (export reads them so). Does
   * nothing when the groups are already resolved.
   */
  bind(variables: readonly (tf.Variable | { read(): tf.Tensor })[]): void {
    if (this.failure) throw this.failure;
    if (this.slots) return;
    this.resolve(
      variables.map((v) => ((v instanceof tf.Variable ? v : v.read()) as tf.Variable).name),
    );
    if (this.failure) throw this.failure;
  }

  override applyGradients(grads: Grads): void {
    if (this.failure) throw this.failure;
    const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
    if (!this.slots) this.resolve(names);
    const slots = this.slots as QatSlot[];
    if (this.lrSchedule)
      setLearningRate(this.base, scheduledLearningRate(this.lrSchedule, this.step));
    const lr = getLearningRate(this.base);
    if (this.step < this.warmupSteps) {
      this.weightDecay(names, lr);
      this.base.applyGradients(grads);
      this.finishStep();
      return;
    }
    this.beforeBaseStep(slots, lr);
    try {
      const forBase = this.gradientsForBase(this.holdBack(grads, names, slots), names);
      try {
        this.weightDecay(names, lr);
        this.base.applyGradients(forBase.grads);
        this.stepHeldFloat();
      } finally {
        tf.dispose(forBase.made);
      }
      this.afterBaseStep(slots, lr);
    } finally {
      this.releaseHeld();
    }
    this.finishStep();
    this.stepFinished();
  }

  /**
   * The fused step (fused-step.ts), where the method and the base allow it and the backend
   * gains by it: every gradient is held back from the base optimizer, which skips a variable
   * without one (after creating its state); the quantized variables are for the method's
   * `heldStep`, the float ones (biases, float groups) take their update alone right after the
   * base's step (`stepHeldFloat`). Returns the gradients for the base.
   */
  private holdBack(grads: Grads, names: string[], slots: QatSlot[]): Grads {
    const update =
      this.fuseBaseStep && this.fusesBaseStep() && fusedStepRuns() ? baseUpdateOf(this.base) : null;
    if (!update) return grads;
    const gradAt = (i: number) =>
      (Array.isArray(grads) ? grads[i].tensor : grads[names[i]]) as tf.Tensor | null;
    const held = new Map<QatSlot, HeldGradient>();
    for (const s of slots) {
      const index = names.indexOf(s.entry.name);
      const grad = index < 0 ? null : gradAt(index);
      if (grad) held.set(s, { grad, index });
    }
    if (held.size === 0) {
      tf.dispose(update.made);
      return grads;
    }
    this.held = held;
    this.heldUpdate = update;
    const out = new Set([...held.values()].map((h) => h.index));
    // the float variables too (biases, float groups): their update alone, as one kernel each
    this.heldFloat = names.flatMap((name, index) => {
      const grad = out.has(index) ? null : gradAt(index);
      return grad ? [{ name, grad, index }] : [];
    });
    this.heldFloat.forEach((h) => out.add(h.index));
    return (
      Array.isArray(grads)
        ? grads.map((g, i) => (out.has(i) ? { name: g.name, tensor: null } : g))
        : Object.fromEntries(names.map((n, i) => [n, out.has(i) ? null : grads[n]]))
    ) as Grads;
  }

  private releaseHeld(): void {
    if (this.heldUpdate) tf.dispose(this.heldUpdate.made);
    this.held = null;
    this.heldFloat = [];
    this.heldUpdate = null;
  }

  /** The held-back float variables' updates (after the base's own step, as it would run them). */
  private stepHeldFloat(): void {
    if (this.heldFloat.length === 0) return;
    tf.tidy(() => {
      for (const h of this.heldFloat) {
        const v = tf.engine().registeredVariables[h.name];
        v.assign(this.runFused(h, v, [1, v.size, 1], {}, h.name).latent);
      }
    });
  }

  /** One held-back variable's fused kernel; assigns the base optimizer's new state. */
  private runFused(
    h: HeldGradient,
    x: tf.Variable,
    view: readonly [number, number, number],
    extra: Pick<Parameters<typeof fusedStep>[0], 'levels' | 'mode' | 'param' | 'augment'>,
    name: string,
  ): { latent: tf.Tensor; mapped: tf.Tensor | null } {
    const update = this.heldUpdate as BaseUpdate;
    const state = update.state(h.index);
    if (!state) {
      throw new Error(`${this.getClassName()}: the base optimizer has no state for '${name}'`);
    }
    const r = fusedStep({ update, x, g: h.grad, state, view, ...extra });
    if (!r)
      throw new Error(`${this.getClassName()}: no ${FUSED_STEP_KERNEL} kernel on this backend`);
    state.forEach((t, i) => t.assign(r.state[i]));
    return { latent: r.latent, mapped: r.mapped };
  }

  /** Was this variable's gradient held back from the base optimizer this step? */
  protected isHeld(s: QatSlot): boolean {
    return this.held?.has(s) ?? false;
  }

  /**
   * A held-back variable's base update as one kernel, with the method's map (`levels`,
   * `mode`, `param`) or gradient (`augment`, ADMM-Q's): assigns the base optimizer's new state
   * and returns the new latent weights and the mapped ones (null without a map), for the
   * method to put where it keeps them.
   */
  protected heldStep(
    s: QatSlot,
    extra: Pick<Parameters<typeof fusedStep>[0], 'levels' | 'mode' | 'param' | 'augment'>,
  ): { latent: tf.Tensor; mapped: tf.Tensor | null } {
    const h = this.held?.get(s);
    if (!h || !this.heldUpdate)
      throw new Error(`${this.getClassName()}: '${s.entry.name}' was not held back`);
    return this.runFused(h, s.entry.variable, s.entry.view.view, extra, s.entry.name);
  }

  /** Decoupled weight decay on every variable of a group with `weightDecay > 0`. */
  private weightDecay(names: string[], lr: number): void {
    const decays = this.groups.map((g) => (g.weightDecay ?? 0) * lr);
    if (!decays.some((d) => d > 0)) return;
    tf.tidy(() => {
      for (const name of names) {
        const gi = this.owner.get(name);
        if (gi === undefined || decays[gi] === 0) continue;
        const scale = this.decayScale(this.quantizedGroups.has(gi));
        const v = tf.engine().registeredVariables[name];
        v.assign(tf.mul(v, 1 - decays[gi] * scale));
      }
    });
  }

  private finishStep(): void {
    this.step++;
    this.incrementIterations();
  }

  // ---- state --------------------------------------------------------------------------

  override async getWeights(): Promise<NamedTensor[]> {
    const base = await this.base.getWeights();
    const values = [this.step, ...this.stateValues()];
    const state = tf.tensor1d(values, 'float32');
    // The same values as doubles, bit for bit (float32 loses the last bits of a sum such as
    // QuantOptimizer's cumulative lr, and a resumed run then drifts from an uninterrupted one).
    const exact = tf.tensor1d(float64Words(values), 'int32');
    const own: NamedTensor[] = [
      { name: `${this.prefix}state`, tensor: state },
      { name: `${this.prefix}state64`, tensor: exact },
    ];
    (this.slots ?? []).forEach((s, i) => {
      for (const key of this.slotKeys) {
        const t = s.tensors.get(key);
        if (t) own.push({ name: `${this.prefix}${key}/${i}`, tensor: t });
      }
      if (s.levels) own.push({ name: `${this.prefix}levels/${i}`, tensor: s.levels });
    });
    return [...base, ...own];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const what = `${this.getClassName()}.setWeights`;
    const prefix = this.prefix;
    const own = weights.filter((w) => w.name.startsWith(prefix));
    const stateW = own.find((w) => w.name === `${prefix}state`);
    if (!stateW) throw new Error(`${what}: missing '${prefix}state'`);
    const fields = ['step', ...this.stateFields];
    let state = Array.from(await stateW.tensor.data());
    if (state.length !== fields.length) {
      throw new Error(`${what}: '${prefix}state' must hold [${fields.join(', ')}]`);
    }
    // Checkpoints written before state64 existed restore the float32 values.
    const exactW = own.find((w) => w.name === `${prefix}state64`);
    if (exactW) {
      const exact =
        exactW.tensor.dtype === 'int32' && exactW.tensor.size === 2 * fields.length
          ? fromFloat64Words(await exactW.tensor.data())
          : null;
      if (!exact || exact.some((v, i) => Math.fround(v) !== state[i])) {
        throw new Error(
          `${what}: '${prefix}state64' must hold [${fields.join(', ')}] as doubles, as '${prefix}state' does`,
        );
      }
      state = exact;
    }
    if (!(Number.isInteger(state[0]) && state[0] >= 0)) {
      throw new Error(`${what}: '${prefix}state' must hold [${fields.join(', ')}]`);
    }
    this.checkStateValues(state.slice(1));
    const pending = new Map<string, tf.Tensor>();
    for (const w of own) {
      if (w !== stateW && w !== exactW) {
        pending.set(w.name.slice(prefix.length), tf.keep(tf.clone(w.tensor)));
      }
    }
    // Check against the resolved variables (if any) before anything changes.
    try {
      if (this.slots) this.checkPending(pending);
      await this.base.setWeights(weights.filter((w) => !w.name.startsWith(prefix)));
    } catch (e) {
      pending.forEach((t) => t.dispose());
      throw e;
    }
    this.step = state[0];
    this.iterations_ = state[0];
    this.setStateValues(state.slice(1));
    this.pending?.forEach((t) => t.dispose());
    this.pending = pending;
    if (this.slots) this.restorePending(pending);
  }

  /** Throws, naming the variable, when restored state does not fit the quantized variables. */
  private checkPending(pending: Map<string, tf.Tensor>): void {
    const what = this.getClassName();
    const slots = this.slots as QatSlot[];
    for (const key of pending.keys()) {
      const i = Number(key.split('/')[1]);
      if (!(i >= 0 && i < slots.length)) {
        throw new Error(
          `${what}: restored state '${this.prefix}${key}' has no quantized variable (have ${slots.length})`,
        );
      }
    }
    slots.forEach((s, i) => {
      for (const key of this.slotKeys) {
        const t = pending.get(`${key}/${i}`);
        if (t && t.size !== s.entry.variable.size) {
          throw new Error(
            `${what}: restored ${key} ${i} has ${t.size} values, variable '${s.entry.name}' ${s.entry.variable.size}`,
          );
        }
      }
      const levels = pending.get(`levels/${i}`);
      const [a, , c] = s.entry.view.view;
      if (levels && (levels.rank !== 3 || levels.shape[0] !== a || levels.shape[2] !== c)) {
        throw new Error(
          `${what}: restored levels ${i} of shape [${levels.shape}] do not fit variable '${s.entry.name}' (groups [${a}, k, ${c}])`,
        );
      }
    });
  }

  /** Applies restored per-variable state (by position among the quantized variables). */
  private restorePending(pending: Map<string, tf.Tensor>): void {
    const slots = this.slots as QatSlot[];
    try {
      this.checkPending(pending);
      slots.forEach((s, i) => {
        for (const key of this.slotKeys) {
          const t = pending.get(`${key}/${i}`);
          if (!t) continue;
          const shaped = tf.reshape(t, s.entry.variable.shape);
          this.setSlotTensor(s, key, shaped);
          shaped.dispose();
        }
        const levels = pending.get(`levels/${i}`);
        if (levels) {
          s.levels?.dispose();
          s.levels = tf.keep(tf.clone(levels)) as tf.Tensor3D;
        }
      });
    } finally {
      pending.forEach((t) => t.dispose());
      this.pending = null;
    }
  }

  // ---- serialization and disposal -----------------------------------------------------

  override getConfig(): Config {
    const own = Object.fromEntries(
      Object.entries(this.ownConfig()).map(([k, v]) => [k, v === undefined ? null : v]),
    );
    return {
      base: serializeBaseOptimizer(this.base),
      quantizer: serializeQuantizer(this.quantizer) as unknown as Config,
      granularity: this.granularity as unknown as Config,
      groups: serializeGroups(this.groups),
      warmupSteps: this.warmupSteps,
      fuseBaseStep: this.fuseBaseStep,
      lrSchedule: (this.lrSchedule as unknown as Config) ?? null,
      ...(own as Config),
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: Config,
  ): T {
    const c = Object.fromEntries(
      Object.entries(config).map(([k, v]) => [k, v === null ? undefined : v]),
    ) as Record<string, any>;
    const owner = (cls as unknown as { className: string }).className;
    const options = {
      ...c,
      base: baseOptimizerFromConfig(c.base, owner),
      quantizer: quantizerFromConfig(c.quantizer),
      groups: groupsFromConfig(c.groups as any[]),
    };
    const revive = (cls as unknown as typeof QATOptimizer).reviveOptions;
    return new (cls as any)(revive(options));
  }

  override dispose(): void {
    for (const s of this.slots ?? []) {
      s.tensors.forEach((t) => t.dispose());
      s.levels?.dispose();
    }
    this.pending?.forEach((t) => t.dispose());
    this.pending = null;
    this.slots = null;
    this.base.dispose();
    super.dispose();
  }
}
