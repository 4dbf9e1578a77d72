/**
 * ADMMQOptimizer: ADMM for quantization (Huang, Singhania, Sanjabi, Mitra,
 * Razaviyayn 2020) around any tf.Optimizer, with its soft-projection (ADMM-S)
 * and randomized (ADMM-R) variants.
 *
 * It solves min f(x) s.t. x ∈ levels, on the augmented Lagrangian
 * L(x, z, λ) = f(x) + ⟨λ, x − z⟩ + (ρ/2)‖x − z‖². The model's variables hold the
 * continuous x; the optimizer keeps z (near the levels) and λ per quantized
 * variable. Every step is an inexact x-update: the base optimizer gets the
 * gradient of L in x, ∇f + λ + ρ(x − z). Every `projectEvery` steps:
 * v = x + λ/ρ, the levels are refreshed from v by the group's quantizer (until
 * `freezeLevelsAfter`), p = nearest level of v, and z follows p by the variant;
 * every `dualEvery` steps: λ ← λ + ρ(x − z). `finalize()` (automatic after
 * `totalSteps`) puts every quantized weight on its nearest level.
 *
 * Everything in a step is tfjs ops on the model's backend: no read-back.
 */
import * as tf from '@tensorflow/tfjs';
import {
  baseOptimizerFromConfig,
  groupsFromConfig,
  NamedTensor,
  serializeBaseOptimizer,
  serializeGroups,
} from '../optim/serialization.js';
import { mixSeed } from '../data/random.js';
import { Granularity } from '../quant/grouping.js';
import { Quantizer } from '../quant/quantizer.js';
import { LSBQuantizer } from '../quant/lsbq.js';
import { quantizerFromConfig, serializeQuantizer } from '../quant/registry.js';
import { nearestLevel } from '../prox/levels.js';
import { checkFinite } from '../optim/finite.js';
import { ProxHardQuant } from '../prox/proxmap.js';
import {
  checkGroup,
  DEFAULT_QUANT_PATTERNS,
  Defaults,
  describeGroup,
  ParamGroup,
  refName,
  ResolvedEntry,
  resolveGroups,
} from '../optim/param-groups.js';
import {
  checkSchedule,
  getLearningRate,
  LrSchedule,
  scheduledLearningRate,
  setLearningRate,
} from '../optim/learning-rate.js';
import { randomProjection, RandomSkip, softProjection, SoftNorm } from './projection.js';
import { checkRho, rhoAt, RhoSchedule } from './rho.js';

export type ADMMVariant = 'hard' | 'soft' | 'random';

export interface ADMMQOptimizerOptions {
  /** The optimizer of the x-update (sgd, momentum, adam, ...). */
  base: tf.Optimizer;
  /** Default quantizer of the groups (gives the levels). Default: greedy LSBQ. */
  quantizer?: Quantizer;
  /** Bits of the default group (used when `groups` is omitted). Default 2. */
  bits?: number;
  /** Parameter groups (no `prox`). Default: one group of Dense/Conv kernels at `bits`. */
  groups?: ParamGroup[];
  /** Default granularity of the groups. Default per tensor. */
  granularity?: Granularity;
  /** The penalty ρ: a number or a schedule over steps. Default 1e-3. */
  rho?: number | RhoSchedule;
  /** How z follows its projection. Default 'hard' (ADMM-Q). */
  variant?: ADMMVariant;
  /** ADMM-S: the step toward the projection is at most β/ρ. Required for 'soft', >= 0. */
  beta?: number;
  /** ADMM-S: the distance is over the whole tensor (default, as the paper) or per weight. */
  softNorm?: SoftNorm;
  /** ADMM-R: probability that a weight's z takes its projection. Required for 'random', in [0, 1]. */
  probability?: number;
  /** ADMM-R: what a skipped weight's z gets: its previous value (default) or v. */
  randomSkip?: RandomSkip;
  /** Seed of ADMM-R's masks (mixed with the projection count and variable). Default 0. */
  seed?: number;
  /** Project (z-update) every this many steps. Default 1. */
  projectEvery?: number;
  /** Update λ every this many steps. Default `projectEvery`. */
  dualEvery?: number;
  /** Steps of plain training before ADMM starts (then z = Proj(x), λ = 0). Default 0. */
  warmupSteps?: number;
  /** From this step on, projections reuse the last levels instead of refreshing them. Default never. */
  freezeLevelsAfter?: number;
  /** Call `finalize()` after this many steps (e.g. epochs × steps per epoch). Default never. */
  totalSteps?: number;
  /** Learning rate per step, set on the base optimizer before each step. */
  lrSchedule?: LrSchedule;
}

/** One quantized variable's ADMM state. */
interface Slot {
  entry: ResolvedEntry;
  z: tf.Variable | null;
  lambda: tf.Variable | null;
  levels: tf.Tensor3D | null;
}

const PREFIX = 'admmq/';
const VARIANTS: readonly ADMMVariant[] = ['hard', 'soft', 'random'];
let nextId = 0;

const isCount = (v: number, min: number) => Number.isInteger(v) && v >= min;

export class ADMMQOptimizer extends tf.Optimizer {
  static className = 'ADMMQOptimizer';

  readonly base: tf.Optimizer;
  readonly quantizer: Quantizer;
  readonly groups: ParamGroup[];
  readonly granularity: Granularity;
  readonly rhoSchedule: number | RhoSchedule;
  readonly variant: ADMMVariant;
  readonly beta?: number;
  readonly softNorm: SoftNorm;
  readonly probability?: number;
  readonly randomSkip: RandomSkip;
  readonly seed: number;
  readonly projectEvery: number;
  readonly dualEvery: number;
  readonly warmupSteps: number;
  readonly freezeLevelsAfter?: number;
  readonly totalSteps?: number;
  readonly lrSchedule?: LrSchedule;

  /** Steps taken (warmup included). */
  step = 0;
  /** z-updates done (the first, z = Proj(x) when ADMM starts, included). */
  projections = 0;
  /** True right after `finalize()`, until the next step. */
  finalized = false;
  private slots: Slot[] | null = null;
  private pending: Map<string, tf.Tensor> | null = null;
  private readonly id = nextId++;
  private failure: Error | null = null;

  constructor(options: ADMMQOptimizerOptions) {
    super();
    if (!(options?.base instanceof tf.Optimizer)) {
      throw new Error(
        'ADMMQOptimizer: base must be a tf.Optimizer (e.g. tf.train.momentum(0.05, 0.9))',
      );
    }
    this.base = options.base;
    this.quantizer = options.quantizer ?? new LSBQuantizer();
    this.granularity = options.granularity ?? { kind: 'tensor' };
    this.groups = options.groups ?? [{ match: DEFAULT_QUANT_PATTERNS, bits: options.bits ?? 2 }];
    this.rhoSchedule = options.rho ?? 1e-3;
    this.variant = options.variant ?? 'hard';
    this.beta = options.beta;
    this.softNorm = options.softNorm ?? 'tensor';
    this.probability = options.probability;
    this.randomSkip = options.randomSkip ?? 'keep';
    this.seed = options.seed ?? 0;
    this.projectEvery = options.projectEvery ?? 1;
    this.dualEvery = options.dualEvery ?? this.projectEvery;
    this.warmupSteps = options.warmupSteps ?? 0;
    this.freezeLevelsAfter = options.freezeLevelsAfter;
    this.totalSteps = options.totalSteps;
    this.lrSchedule = options.lrSchedule;
    this.check();
  }

  private check(): void {
    const what = 'ADMMQOptimizer';
    checkRho(this.rhoSchedule);
    if (!VARIANTS.includes(this.variant)) {
      throw new Error(`${what}: unknown variant '${this.variant}' (${VARIANTS.join(', ')})`);
    }
    if (this.variant === 'soft') {
      if (this.beta === undefined) throw new Error(`${what}: variant 'soft' needs beta (>= 0)`);
      if (!(this.beta >= 0) || !Number.isFinite(this.beta)) {
        throw new Error(`${what}: beta must be a finite number >= 0, got ${this.beta}`);
      }
    } else if (this.beta !== undefined) {
      throw new Error(`${what}: beta is set but variant is '${this.variant}' (beta is for 'soft')`);
    }
    if (this.softNorm !== 'tensor' && this.softNorm !== 'element') {
      throw new Error(`${what}: softNorm must be 'tensor' or 'element', got '${this.softNorm}'`);
    }
    if (this.variant === 'random') {
      if (this.probability === undefined)
        throw new Error(`${what}: variant 'random' needs probability in [0, 1]`);
      if (!(this.probability >= 0 && this.probability <= 1)) {
        throw new Error(`${what}: probability must be in [0, 1], got ${this.probability}`);
      }
    } else if (this.probability !== undefined) {
      throw new Error(
        `${what}: probability is set but variant is '${this.variant}' (probability is for 'random')`,
      );
    }
    if (this.randomSkip !== 'keep' && this.randomSkip !== 'unprojected') {
      throw new Error(
        `${what}: randomSkip must be 'keep' or 'unprojected', got '${this.randomSkip}'`,
      );
    }
    if (!Number.isInteger(this.seed))
      throw new Error(`${what}: seed must be an integer, got ${this.seed}`);
    if (!isCount(this.projectEvery, 1)) {
      throw new Error(`${what}: projectEvery must be an integer >= 1, got ${this.projectEvery}`);
    }
    if (!isCount(this.dualEvery, 1)) {
      throw new Error(`${what}: dualEvery must be an integer >= 1, got ${this.dualEvery}`);
    }
    if (!isCount(this.warmupSteps, 0)) {
      throw new Error(`${what}: warmupSteps must be an integer >= 0, got ${this.warmupSteps}`);
    }
    if (this.freezeLevelsAfter !== undefined && !isCount(this.freezeLevelsAfter, 0)) {
      throw new Error(
        `${what}: freezeLevelsAfter must be an integer >= 0, got ${this.freezeLevelsAfter}`,
      );
    }
    if (this.totalSteps !== undefined && !isCount(this.totalSteps, 1)) {
      throw new Error(`${what}: totalSteps must be an integer >= 1, got ${this.totalSteps}`);
    }
    if (this.lrSchedule) checkSchedule(this.lrSchedule);
    if (this.groups.length === 0) throw new Error(`${what}: groups is empty`);
    this.groups.forEach((g, i) => {
      if (g.prox)
        throw new Error(`${what}: ${describeGroup(g, i)} sets prox; ADMM uses no prox map`);
      checkGroup(g, i, this.defaults());
    });
  }

  private defaults(): Defaults {
    return { quantizer: this.quantizer, prox: new ProxHardQuant(), granularity: this.granularity };
  }

  /** ρ now: the value the next step uses. */
  get rho(): number {
    return rhoAt(this.rhoSchedule, this.step);
  }

  /** ρ at any step. */
  rhoAt(step: number): number {
    return rhoAt(this.rhoSchedule, step);
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

  /** z of a quantized variable (not a copy: don't dispose); null before ADMM starts. */
  getZ(variable: string | { name: string }): tf.Tensor | null {
    return this.slot(variable)?.z ?? null;
  }

  /** λ of a quantized variable (not a copy: don't dispose); null before ADMM starts. */
  getDual(variable: string | { name: string }): tf.Tensor | null {
    return this.slot(variable)?.lambda ?? null;
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

  /**
   * The constraint residual ‖x − z‖ / ‖x‖ over all quantized variables (reads
   * back one number; for reports, not for the step). 0 before ADMM starts.
   */
  async relativeResidual(): Promise<number> {
    const slots = (this.slots ?? []).filter((s) => s.z);
    if (slots.length === 0) return 0;
    const r = tf.tidy(() => {
      let num: tf.Tensor = tf.scalar(0);
      let den: tf.Tensor = tf.scalar(0);
      for (const s of slots) {
        num = tf.add(num, tf.sum(tf.square(tf.sub(s.entry.variable, s.z as tf.Variable))));
        den = tf.add(den, tf.sum(tf.square(s.entry.variable)));
      }
      return tf.sqrt(tf.div(num, tf.maximum(den, 1e-30)));
    });
    const [v] = await r.data();
    r.dispose();
    return v;
  }

  private slot(variable: string | { name: string }): Slot | undefined {
    const name = typeof variable === 'string' ? variable : refName(variable);
    return this.slots?.find((s) => s.entry.name === name);
  }

  /** Resolve groups against the trained variables; validates before any change. */
  private resolve(names: string[]): void {
    const { entries } = resolveGroups(names, this.groups, this.defaults());
    // One read-back, once per run, before anything is mutated: weights must be finite.
    checkFinite(entries, (e) => (this.failure = e));
    this.slots = entries.map((entry) => ({ entry, z: null, lambda: null, levels: null }));
    if (this.pending) this.restorePending(this.pending);
  }

  override applyGradients(grads: tf.NamedTensorMap | NamedTensor[]): void {
    if (this.failure) throw this.failure;
    const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
    if (!this.slots) this.resolve(names);
    const slots = this.slots as Slot[];
    if (this.lrSchedule)
      setLearningRate(this.base, scheduledLearningRate(this.lrSchedule, this.step));
    this.finalized = false;
    if (this.step < this.warmupSteps) {
      this.weightDecay(names);
      this.base.applyGradients(grads);
      this.finishStep();
      return;
    }
    const rho = this.rho;
    if (slots.some((s) => !s.z)) this.start(slots);

    // Inexact x-update: the base optimizer steps on ∇f + λ + ρ(x − z).
    const byName = new Map(slots.map((s) => [s.entry.name, s]));
    const made: tf.Tensor[] = [];
    const augment = (name: string, g: tf.Tensor): tf.Tensor => {
      const s = byName.get(name);
      if (!s || !g) return g;
      const t = tf.tidy(() =>
        tf.add(
          tf.add(g, s.lambda as tf.Variable),
          tf.mul(tf.sub(s.entry.variable, s.z as tf.Variable), rho),
        ),
      );
      made.push(t);
      return t;
    };
    const augmented: tf.NamedTensorMap | NamedTensor[] = Array.isArray(grads)
      ? grads.map((g) => ({ name: g.name, tensor: augment(g.name, g.tensor) }))
      : Object.fromEntries(names.map((n) => [n, augment(n, grads[n])]));
    try {
      this.weightDecay(names);
      this.base.applyGradients(augmented);
    } finally {
      tf.dispose(made);
    }

    const t = this.step - this.warmupSteps + 1;
    if (t % this.projectEvery === 0) this.project(slots, rho);
    if (t % this.dualEvery === 0) this.dualUpdate(slots, rho);
    this.finishStep();
    if (this.totalSteps !== undefined && this.step === this.totalSteps) this.finalize();
  }

  /** ADMM starts: levels from x, z = Proj(x), λ = 0. */
  private start(slots: Slot[]): void {
    for (const s of slots) {
      if (s.z) continue;
      tf.tidy(() => {
        const { variable: x, view } = s.entry;
        const xView = tf.reshape(x, view.view) as tf.Tensor3D;
        if (!s.levels) this.refreshLevels(s, xView);
        const p = tf.reshape(nearestLevel(xView, s.levels as tf.Tensor3D), x.shape);
        s.z = tf.variable(p, false, `${PREFIX}z/${s.entry.name}/${this.id}`);
        s.lambda = tf.variable(
          tf.zerosLike(x),
          false,
          `${PREFIX}lambda/${s.entry.name}/${this.id}`,
        );
      });
    }
    this.projections++;
  }

  private refreshLevels(s: Slot, view: tf.Tensor3D): void {
    const { q, Q } = s.entry.quantizer.quantize(view, s.entry.bits);
    q.dispose();
    s.levels?.dispose();
    s.levels = tf.keep(Q);
  }

  private levelsFrozen(): boolean {
    return this.freezeLevelsAfter !== undefined && this.step >= this.freezeLevelsAfter;
  }

  /** z-update: v = x + λ/ρ, levels from v, p = nearest level, z by the variant. */
  private project(slots: Slot[], rho: number): void {
    const frozen = this.levelsFrozen();
    slots.forEach((s, i) => {
      tf.tidy(() => {
        const { variable: x, view } = s.entry;
        const z = s.z as tf.Variable;
        const v = tf.add(x, tf.div(s.lambda as tf.Variable, rho));
        const vView = tf.reshape(v, view.view) as tf.Tensor3D;
        if (!frozen || !s.levels) this.refreshLevels(s, vView);
        const p = tf.reshape(nearestLevel(vView, s.levels as tf.Tensor3D), x.shape);
        if (this.variant === 'hard') z.assign(p);
        else if (this.variant === 'soft')
          z.assign(softProjection(v, p, (this.beta as number) / rho, this.softNorm));
        else {
          const seed = mixSeed(this.seed, this.projections, i);
          z.assign(randomProjection(v, p, z, this.probability as number, seed, this.randomSkip));
        }
      });
    });
    this.projections++;
  }

  /** λ ← λ + ρ(x − z). */
  private dualUpdate(slots: Slot[], rho: number): void {
    for (const s of slots) {
      const lambda = s.lambda as tf.Variable;
      tf.tidy(() =>
        lambda.assign(tf.add(lambda, tf.mul(tf.sub(s.entry.variable, s.z as tf.Variable), rho))),
      );
    }
  }

  /**
   * Put every quantized weight on its nearest level: levels are refreshed from
   * x (unless frozen), x ← Proj(x), and z ← x. The model then holds at most
   * 2^bits distinct values per group. Training may go on afterwards (from the
   * projected x); call again at its end.
   */
  finalize(): void {
    if (!this.slots) {
      throw new Error(
        'ADMMQOptimizer.finalize: no step taken yet (variables are resolved on the first step)',
      );
    }
    const frozen = this.levelsFrozen();
    for (const s of this.slots) {
      tf.tidy(() => {
        const { variable: x, view } = s.entry;
        const xView = tf.reshape(x, view.view) as tf.Tensor3D;
        if (!frozen || !s.levels) this.refreshLevels(s, xView);
        const p = tf.reshape(nearestLevel(xView, s.levels as tf.Tensor3D), x.shape);
        x.assign(p);
        if (s.z) s.z.assign(p);
        else s.z = tf.variable(p, false, `${PREFIX}z/${s.entry.name}/${this.id}`);
        if (!s.lambda)
          s.lambda = tf.variable(
            tf.zerosLike(x),
            false,
            `${PREFIX}lambda/${s.entry.name}/${this.id}`,
          );
      });
    }
    this.finalized = true;
  }

  /** Decoupled weight decay on every variable of a group with `weightDecay > 0`. */
  private weightDecay(names: string[]): void {
    if (!this.groups.some((g) => (g.weightDecay ?? 0) > 0)) return;
    const lr = getLearningRate(this.base);
    const { owner } = resolveGroups(names, this.groups, this.defaults());
    tf.tidy(() => {
      for (const name of names) {
        const gi = owner.get(name);
        const decay = gi === undefined ? 0 : (this.groups[gi].weightDecay ?? 0) * lr;
        if (decay === 0) continue;
        const v = tf.engine().registeredVariables[name];
        v.assign(tf.mul(v, 1 - decay));
      }
    });
  }

  private finishStep(): void {
    this.step++;
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const base = await this.base.getWeights();
    const own: NamedTensor[] = [
      {
        name: `${PREFIX}state`,
        tensor: tf.tensor1d([this.step, this.projections, this.finalized ? 1 : 0], 'float32'),
      },
    ];
    (this.slots ?? []).forEach((s, i) => {
      if (s.z) own.push({ name: `${PREFIX}z/${i}`, tensor: s.z });
      if (s.lambda) own.push({ name: `${PREFIX}lambda/${i}`, tensor: s.lambda });
      if (s.levels) own.push({ name: `${PREFIX}levels/${i}`, tensor: s.levels });
    });
    return [...base, ...own];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const own = weights.filter((w) => w.name.startsWith(PREFIX));
    const stateW = own.find((w) => w.name === `${PREFIX}state`);
    if (!stateW) throw new Error(`ADMMQOptimizer.setWeights: missing '${PREFIX}state'`);
    const state = Array.from(await stateW.tensor.data());
    if (state.length !== 3 || !state.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new Error(
        `ADMMQOptimizer.setWeights: '${PREFIX}state' must hold [step, projections, finalized]`,
      );
    }
    const pending = new Map<string, tf.Tensor>();
    for (const w of own) {
      if (w !== stateW) pending.set(w.name.slice(PREFIX.length), tf.keep(tf.clone(w.tensor)));
    }
    // Check against the resolved variables (if any) before anything changes.
    try {
      if (this.slots) this.checkPending(pending);
      await this.base.setWeights(weights.filter((w) => !w.name.startsWith(PREFIX)));
    } catch (e) {
      pending.forEach((t) => t.dispose());
      throw e;
    }
    const [step, projections, finalized] = state;
    this.step = step;
    this.projections = projections;
    this.finalized = finalized === 1;
    this.iterations_ = step;
    this.pending?.forEach((t) => t.dispose());
    this.pending = pending;
    if (this.slots) this.restorePending(pending);
  }

  /** Throws, naming the variable, when restored state does not fit the quantized variables. */
  private checkPending(pending: Map<string, tf.Tensor>): void {
    const slots = this.slots as Slot[];
    for (const key of pending.keys()) {
      const i = Number(key.split('/')[1]);
      if (!(i >= 0 && i < slots.length)) {
        throw new Error(
          `ADMMQOptimizer: restored state '${PREFIX}${key}' has no quantized variable (have ${slots.length})`,
        );
      }
    }
    slots.forEach((s, i) => {
      for (const key of ['z', 'lambda'] as const) {
        const t = pending.get(`${key}/${i}`);
        if (t && t.size !== s.entry.variable.size) {
          throw new Error(
            `ADMMQOptimizer: restored ${key} ${i} has ${t.size} values, variable '${s.entry.name}' ${s.entry.variable.size}`,
          );
        }
      }
      const levels = pending.get(`levels/${i}`);
      const [a, , c] = s.entry.view.view;
      if (levels && (levels.rank !== 3 || levels.shape[0] !== a || levels.shape[2] !== c)) {
        throw new Error(
          `ADMMQOptimizer: restored levels ${i} of shape [${levels.shape}] do not fit variable '${s.entry.name}' (groups [${a}, k, ${c}])`,
        );
      }
    });
  }

  /** Apply restored per-variable state (by position among the quantized variables). */
  private restorePending(pending: Map<string, tf.Tensor>): void {
    const slots = this.slots as Slot[];
    try {
      this.checkPending(pending);
      slots.forEach((s, i) => {
        for (const key of ['z', 'lambda'] as const) {
          const t = pending.get(`${key}/${i}`);
          if (!t) continue;
          const shaped = tf.reshape(t, s.entry.variable.shape);
          const current = s[key];
          if (current) current.assign(shaped);
          else s[key] = tf.variable(shaped, false, `${PREFIX}${key}/${s.entry.name}/${this.id}`);
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

  override getConfig(): tf.serialization.ConfigDict {
    const orNull = <T>(v: T | undefined) => (v === undefined ? null : v);
    return {
      base: serializeBaseOptimizer(this.base),
      quantizer: serializeQuantizer(this.quantizer) as unknown as tf.serialization.ConfigDict,
      granularity: this.granularity as unknown as tf.serialization.ConfigDict,
      groups: serializeGroups(this.groups),
      rho: this.rhoSchedule as unknown as tf.serialization.ConfigDictValue,
      variant: this.variant,
      beta: orNull(this.beta),
      softNorm: this.softNorm,
      probability: orNull(this.probability),
      randomSkip: this.randomSkip,
      seed: this.seed,
      projectEvery: this.projectEvery,
      dualEvery: this.dualEvery,
      warmupSteps: this.warmupSteps,
      freezeLevelsAfter: orNull(this.freezeLevelsAfter),
      totalSteps: orNull(this.totalSteps),
      lrSchedule: (this.lrSchedule as unknown as tf.serialization.ConfigDict) ?? null,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const c = config as any;
    const base = baseOptimizerFromConfig(c.base, 'ADMMQOptimizer');
    const opt = (o: any) => (o === null || o === undefined ? undefined : o);
    const groups = groupsFromConfig(c.groups as any[]);
    return new (cls as any)({
      base,
      quantizer: quantizerFromConfig(c.quantizer),
      granularity: c.granularity,
      groups,
      rho: c.rho,
      variant: c.variant,
      beta: opt(c.beta),
      softNorm: c.softNorm,
      probability: opt(c.probability),
      randomSkip: c.randomSkip,
      seed: c.seed,
      projectEvery: c.projectEvery,
      dualEvery: c.dualEvery,
      warmupSteps: c.warmupSteps,
      freezeLevelsAfter: opt(c.freezeLevelsAfter),
      totalSteps: opt(c.totalSteps),
      lrSchedule: opt(c.lrSchedule),
    });
  }

  override dispose(): void {
    for (const s of this.slots ?? []) {
      s.z?.dispose();
      s.lambda?.dispose();
      s.levels?.dispose();
    }
    this.pending?.forEach((t) => t.dispose());
    this.pending = null;
    this.slots = null;
    this.base.dispose();
    super.dispose();
  }
}

tf.serialization.registerClass(ADMMQOptimizer);
