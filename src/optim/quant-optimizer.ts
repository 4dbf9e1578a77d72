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
 */
import * as tf from '@tensorflow/tfjs';
import {
  baseOptimizerFromConfig,
  groupsFromConfig,
  float64Words,
  fromFloat64Words,
  NamedTensor,
  serializeBaseOptimizer,
  serializeGroups,
} from './serialization.js';
import { Granularity } from '../quant/grouping.js';
import { Quantizer } from '../quant/quantizer.js';
import { checkFinite } from './finite.js';
import { LSBQuantizer } from '../quant/lsbq.js';
import { quantizerFromConfig, serializeQuantizer } from '../quant/registry.js';
import { ProxHardQuant, ProxMap } from '../prox/proxmap.js';
import { proxMapFromConfig, serializeProxMap } from '../prox/registry.js';
import {
  checkGroup,
  DEFAULT_QUANT_PATTERNS,
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

export interface QuantOptimizerOptions {
  /** The optimizer that updates the latent weights (sgd, momentum, adam, ...). */
  base: tf.Optimizer;
  /** Default quantizer of the groups. Default: greedy LSBQ. */
  quantizer?: Quantizer;
  /** Default prox map of the groups. Default: hard quantization (STE). */
  prox?: ProxMap;
  /** Bits of the default group (used when `groups` is omitted). Default 2. */
  bits?: number;
  /** Parameter groups. Default: one group of Dense/Conv kernels at `bits`. */
  groups?: ParamGroup[];
  /** Default granularity of the groups. Default per tensor. */
  granularity?: Granularity;
  /** Steps of plain training before QAT starts. Default 0. */
  warmupSteps?: number;
  /** Refresh Q every this many steps. Default 10. */
  quantPeriod?: number;
  /** AProx: quantize `w / max(1, cumulative lr)`. Default false. */
  quantShrink?: boolean;
  /** Fraction of weight decay annealed with PARQ's inverse slope, in [0, 1]. Default 0. */
  annealWdFrac?: number;
  /** NM-SGD normal-map parameter; > 0 enables the variant. */
  nmGamma?: number;
  /** Learning rate per step, set on the base optimizer before each step. */
  lrSchedule?: LrSchedule;
}

/** One quantized variable's state. */
interface Slot {
  entry: ResolvedEntry;
  latent: tf.Variable | null;
  levels: tf.Tensor3D | null;
}

const PREFIX = 'parq/';

export type { NamedTensor };

let nextOptimizerId = 0;

export class QuantOptimizer extends tf.Optimizer {
  static className = 'QuantOptimizer';

  readonly base: tf.Optimizer;
  readonly quantizer: Quantizer;
  readonly prox: ProxMap;
  readonly groups: ParamGroup[];
  readonly granularity: Granularity;
  readonly warmupSteps: number;
  readonly quantPeriod: number;
  readonly quantShrink: boolean;
  readonly annealWdFrac: number;
  readonly nmGamma: number;
  readonly lrSchedule?: LrSchedule;

  /** Steps taken (warmup included). */
  step = 0;
  /** Sum of the learning rates of the QAT steps so far. */
  cumulativeLr = 0;
  private slots: Slot[] | null = null;
  /** Which group owns each trained variable (resolved at the first step). */
  private owner = new Map<string, number>();
  private wdScale = 1;
  private corrections = new Map<string, tf.Tensor>();
  private pending: Map<string, tf.Tensor> | null = null;
  private readonly id = nextOptimizerId++;
  private failure: Error | null = null;

  constructor(options: QuantOptimizerOptions) {
    super();
    if (!(options.base instanceof tf.Optimizer)) {
      throw new Error(
        'QuantOptimizer: base must be a tf.Optimizer (e.g. tf.train.momentum(0.05, 0.9))',
      );
    }
    this.base = options.base;
    this.quantizer = options.quantizer ?? new LSBQuantizer();
    this.prox = options.prox ?? new ProxHardQuant();
    this.granularity = options.granularity ?? { kind: 'tensor' };
    this.groups = options.groups ?? [{ match: DEFAULT_QUANT_PATTERNS, bits: options.bits ?? 2 }];
    this.warmupSteps = options.warmupSteps ?? 0;
    this.quantPeriod = options.quantPeriod ?? 10;
    this.quantShrink = options.quantShrink ?? false;
    this.annealWdFrac = options.annealWdFrac ?? 0;
    this.nmGamma = options.nmGamma ?? 0;
    this.lrSchedule = options.lrSchedule;
    if (!Number.isInteger(this.warmupSteps) || this.warmupSteps < 0) {
      throw new Error(`warmupSteps must be an integer >= 0, got ${this.warmupSteps}`);
    }
    if (!Number.isInteger(this.quantPeriod) || this.quantPeriod < 1) {
      throw new Error(`quantPeriod must be an integer >= 1, got ${this.quantPeriod}`);
    }
    if (!(this.annealWdFrac >= 0 && this.annealWdFrac <= 1)) {
      throw new Error(`annealWdFrac must be in [0, 1], got ${this.annealWdFrac}`);
    }
    if (!(this.nmGamma >= 0)) throw new Error(`nmGamma must be >= 0, got ${this.nmGamma}`);
    if (this.groups.length === 0) throw new Error('QuantOptimizer: groups is empty');
    if (this.lrSchedule) checkSchedule(this.lrSchedule);
    this.groups.forEach((g, i) => checkGroup(g, i, this.defaults()));
  }

  private defaults(): Defaults {
    return { quantizer: this.quantizer, prox: this.prox, granularity: this.granularity };
  }

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

  /** PARQ's inverse slope (or the map's analogue) at the current step. */
  get inverseSlope(): number | undefined {
    return this.prox.inverseSlope(this.step);
  }

  /** The latent full-precision weights of a quantized variable (not a copy: don't dispose). */
  getLatent(variable: string | { name: string }): tf.Tensor | null {
    return this.slot(variable)?.latent ?? null;
  }

  /** The current levels of a quantized variable as `[groups, k]` rows (a new tensor). */
  getLevels(variable: string | { name: string }): tf.Tensor2D | null {
    const s = this.slot(variable);
    if (!s?.levels) return null;
    const levels = s.levels;
    return tf.tidy(() => {
      const [a, k, c] = levels.shape;
      return tf.reshape(tf.transpose(levels, [0, 2, 1]), [a * c, k]) as tf.Tensor2D;
    });
  }

  private slot(variable: string | { name: string }): Slot | undefined {
    const name = typeof variable === 'string' ? variable : refName(variable);
    return this.slots?.find((s) => s.entry.name === name);
  }

  /** Resolve groups against the variables being trained; validates before any change. */
  private resolve(names: string[]): void {
    const { entries, owner } = resolveGroups(names, this.groups, this.defaults());
    // One read-back, once per run, before anything is mutated: weights must be finite.
    checkFinite(entries, (e) => (this.failure = e));
    this.slots = entries.map((entry) => ({ entry, latent: null, levels: null }));
    this.owner = owner;
    if (this.pending) this.restorePending(this.pending);
  }

  override applyGradients(grads: tf.NamedTensorMap | NamedTensor[]): void {
    if (this.failure) throw this.failure;
    const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
    if (!this.slots) this.resolve(names);
    const slots = this.slots as Slot[];
    if (this.lrSchedule)
      setLearningRate(this.base, scheduledLearningRate(this.lrSchedule, this.step));
    const lr = getLearningRate(this.base);

    if (this.step < this.warmupSteps) {
      this.weightDecay(names, lr);
      this.base.applyGradients(grads);
      this.finishStep();
      return;
    }
    tf.tidy(() => {
      for (const s of slots) {
        const v = s.entry.variable;
        if (!s.latent) {
          s.latent = tf.variable(v, false, `${PREFIX}latent/${s.entry.name}/${this.id}`);
          continue;
        }
        if (this.nmGamma > 0) this.setCorrection(s.entry.name, tf.sub(s.latent, v));
        v.assign(s.latent);
      }
    });
    this.weightDecay(names, lr);
    this.base.applyGradients(grads);
    this.cumulativeLr += lr;
    const refresh = (this.step - this.warmupSteps) % this.quantPeriod === 0;
    const shrink = this.nmGamma > 0 ? this.nmGamma : Math.max(1, this.cumulativeLr);
    for (const s of slots) {
      tf.tidy(() => this.quantizeSlot(s, lr, refresh, shrink));
    }
    this.updateWeightDecayScale();
    this.finishStep();
  }

  private quantizeSlot(s: Slot, lr: number, refresh: boolean, shrink: number): void {
    const { variable: v, view, quantizer, prox, bits } = s.entry;
    const correction = this.corrections.get(s.entry.name);
    if (correction) v.assign(tf.add(v, tf.mul(correction, -lr / this.nmGamma)));
    (s.latent as tf.Variable).assign(v);
    let p: tf.Tensor = v;
    if (this.quantShrink) p = tf.div(p, shrink);
    const pView = tf.reshape(p, view.view) as tf.Tensor3D;
    let q: tf.Tensor3D | null = null;
    if (refresh || !s.levels) {
      const out = quantizer.quantize(pView, bits);
      q = out.q;
      s.levels?.dispose();
      s.levels = tf.keep(out.Q);
    }
    const mapped = prox.apply(pView, q, s.levels, this.step);
    if (mapped) v.assign(tf.reshape(mapped, v.shape));
    else if (this.quantShrink) v.assign(p);
  }

  private setCorrection(name: string, t: tf.Tensor): void {
    this.corrections.get(name)?.dispose();
    this.corrections.set(name, tf.keep(t));
  }

  /** Decoupled weight decay on every variable of a group with `weightDecay > 0`. */
  private weightDecay(names: string[], lr: number): void {
    const decays = this.groups.map((g) => (g.weightDecay ?? 0) * lr);
    if (!decays.some((d) => d > 0)) return;
    const quantizedGroups = new Set((this.slots ?? []).map((s) => s.entry.group));
    tf.tidy(() => {
      for (const name of names) {
        const gi = this.owner.get(name);
        if (gi === undefined || decays[gi] === 0) continue;
        const scale = quantizedGroups.has(gi) ? this.wdScale : 1;
        const v = tf.engine().registeredVariables[name];
        v.assign(tf.mul(v, 1 - decays[gi] * scale));
      }
    });
  }

  /** annealWdFrac: weight decay follows the inverse slope (as the reference, only while it is > 0). */
  private updateWeightDecayScale(): void {
    if (this.annealWdFrac <= 0) return;
    const inv = this.prox.inverseSlope(this.step);
    if (inv) this.wdScale = inv * this.annealWdFrac + (1 - this.annealWdFrac);
  }

  private finishStep(): void {
    this.step++;
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const base = await this.base.getWeights();
    const hi = Math.fround(this.cumulativeLr);
    const state: NamedTensor = {
      name: `${PREFIX}state`,
      tensor: tf.tensor1d([this.step, hi, this.cumulativeLr - hi, this.wdScale], 'float32'),
    };
    // The same doubles exactly (the float32 state above loses their last bits).
    const exact: NamedTensor = {
      name: `${PREFIX}state64`,
      tensor: tf.tensor1d(float64Words([this.cumulativeLr, this.wdScale]), 'int32'),
    };
    const own: NamedTensor[] = [state, exact];
    (this.slots ?? []).forEach((s, i) => {
      if (s.latent) own.push({ name: `${PREFIX}latent/${i}`, tensor: s.latent });
      if (s.levels) own.push({ name: `${PREFIX}levels/${i}`, tensor: s.levels });
    });
    for (const [name, t] of this.corrections) {
      const i = (this.slots ?? []).findIndex((s) => s.entry.name === name);
      own.push({ name: `${PREFIX}correction/${i}`, tensor: t });
    }
    return [...base, ...own];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const own = weights.filter((w) => w.name.startsWith(PREFIX));
    await this.base.setWeights(weights.filter((w) => !w.name.startsWith(PREFIX)));
    const stateW = own.find((w) => w.name === `${PREFIX}state`);
    if (!stateW) throw new Error(`QuantOptimizer.setWeights: missing '${PREFIX}state'`);
    const [step, hi, lo, wdScale] = Array.from(await stateW.tensor.data()) as number[];
    this.step = step;
    this.cumulativeLr = hi + lo;
    this.wdScale = wdScale;
    this.iterations_ = step;
    // Checkpoints written before state64 existed restore the float32 values above.
    const exactW = own.find((w) => w.name === `${PREFIX}state64`);
    if (exactW) {
      if (exactW.tensor.dtype !== 'int32' || exactW.tensor.size !== 4) {
        throw new Error(`QuantOptimizer.setWeights: '${PREFIX}state64' must hold 4 int32 words`);
      }
      [this.cumulativeLr, this.wdScale] = fromFloat64Words(await exactW.tensor.data());
    }
    const pending = new Map<string, tf.Tensor>();
    for (const w of own)
      if (w !== stateW && w !== exactW)
        pending.set(w.name.slice(PREFIX.length), tf.keep(tf.clone(w.tensor)));
    this.pending?.forEach((t) => t.dispose());
    this.pending = pending;
    if (this.slots) this.restorePending(pending);
  }

  /** Apply restored per-variable state (by position among the quantized variables). */
  private restorePending(pending: Map<string, tf.Tensor>): void {
    const slots = this.slots as Slot[];
    slots.forEach((s, i) => {
      const latent = pending.get(`latent/${i}`);
      const levels = pending.get(`levels/${i}`);
      const corr = pending.get(`correction/${i}`);
      if (latent) {
        if (latent.size !== s.entry.variable.size) {
          throw new Error(`restored latent ${i} does not fit variable '${s.entry.name}'`);
        }
        const t = tf.reshape(latent, s.entry.variable.shape);
        if (s.latent) s.latent.assign(t);
        else s.latent = tf.variable(t, false, `${PREFIX}latent/${s.entry.name}/${this.id}`);
        t.dispose();
      }
      if (levels) {
        s.levels?.dispose();
        s.levels = tf.keep(tf.clone(levels)) as tf.Tensor3D;
      }
      if (corr) this.setCorrection(s.entry.name, tf.clone(corr));
    });
    pending.forEach((t) => t.dispose());
    this.pending = null;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      base: serializeBaseOptimizer(this.base),
      quantizer: serializeQuantizer(this.quantizer) as unknown as tf.serialization.ConfigDict,
      prox: serializeProxMap(this.prox) as unknown as tf.serialization.ConfigDict,
      granularity: this.granularity as unknown as tf.serialization.ConfigDict,
      groups: serializeGroups(this.groups),
      warmupSteps: this.warmupSteps,
      quantPeriod: this.quantPeriod,
      quantShrink: this.quantShrink,
      annealWdFrac: this.annealWdFrac,
      nmGamma: this.nmGamma,
      lrSchedule: (this.lrSchedule as unknown as tf.serialization.ConfigDict) ?? null,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const c = config as any;
    const base = baseOptimizerFromConfig(c.base, 'QuantOptimizer');
    const opt = (o: any) => (o === null || o === undefined ? undefined : o);
    const groups = groupsFromConfig(c.groups as any[]);
    return new (cls as any)({
      base,
      quantizer: quantizerFromConfig(c.quantizer),
      prox: proxMapFromConfig(c.prox),
      granularity: c.granularity,
      groups,
      warmupSteps: c.warmupSteps,
      quantPeriod: c.quantPeriod,
      quantShrink: c.quantShrink,
      annealWdFrac: c.annealWdFrac,
      nmGamma: c.nmGamma,
      lrSchedule: opt(c.lrSchedule),
    });
  }

  override dispose(): void {
    for (const s of this.slots ?? []) {
      s.latent?.dispose();
      s.levels?.dispose();
    }
    this.corrections.forEach((t) => t.dispose());
    this.corrections.clear();
    this.pending?.forEach((t) => t.dispose());
    this.slots = null;
    this.base.dispose();
    super.dispose();
  }
}

tf.serialization.registerClass(QuantOptimizer);
