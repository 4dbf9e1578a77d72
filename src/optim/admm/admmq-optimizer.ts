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
import { mixSeed } from '../../util/random.js';
import { applyProxMode } from '../../prox/fused-kernel.js';
import type { QatSchedule } from '../inspection.js';
import { describeGroup } from '../param-groups.js';
import { QATOptimizer, type QATOptimizerOptions, type QatSlot } from '../qat-optimizer.js';
import type { NamedTensor } from '../serialization.js';
import { randomProjection, RandomSkip, softProjection, SoftNorm } from './projection.js';
import { checkRho, DEFAULT_RHO, rhoAt, RhoSchedule } from './rho.js';

export type ADMMVariant = 'hard' | 'soft' | 'random';

export interface ADMMQOptimizerOptions extends QATOptimizerOptions {
  /** The penalty ρ: a number or a schedule over steps. Default `DEFAULT_RHO` (1e-4). */
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
  /** From this step on, projections reuse the last levels instead of refreshing them. Default never. */
  freezeLevelsAfter?: number;
  /** Call `finalize()` after this many steps (e.g. epochs × steps per epoch). Default never. */
  totalSteps?: number;
}

const VARIANTS: readonly ADMMVariant[] = ['hard', 'soft', 'random'];

const isCount = (v: number, min: number) => Number.isInteger(v) && v >= min;

type Grads = tf.NamedTensorMap | NamedTensor[];

export class ADMMQOptimizer extends QATOptimizer {
  static className = 'ADMMQOptimizer';

  readonly rhoSchedule: number | RhoSchedule;
  readonly variant: ADMMVariant;
  readonly beta?: number;
  readonly softNorm: SoftNorm;
  readonly probability?: number;
  readonly randomSkip: RandomSkip;
  readonly seed: number;
  readonly projectEvery: number;
  readonly dualEvery: number;
  readonly freezeLevelsAfter?: number;
  readonly totalSteps?: number;
  readonly shadowName = 'z';
  /** ADMM-Q has no prox map: its z-update projects onto the nearest level. */
  readonly prox = undefined;
  readonly schedule: QatSchedule;

  /** z-updates done (the first, z = Proj(x) when ADMM starts, included). */
  projections = 0;
  protected readonly prefix = 'admmq/';
  protected readonly slotKeys = ['z', 'lambda'];
  protected readonly stateFields = ['projections', 'finalized'];
  /** The step at which `finalize()` ran last (finalized until the next step). */
  private finalizedAt = -1;

  constructor(options: ADMMQOptimizerOptions) {
    super(options);
    this.rhoSchedule = options.rho ?? DEFAULT_RHO;
    this.variant = options.variant ?? 'hard';
    this.beta = options.beta;
    this.softNorm = options.softNorm ?? 'tensor';
    this.probability = options.probability;
    this.randomSkip = options.randomSkip ?? 'keep';
    this.seed = options.seed ?? 0;
    this.projectEvery = options.projectEvery ?? 1;
    this.dualEvery = options.dualEvery ?? this.projectEvery;
    this.freezeLevelsAfter = options.freezeLevelsAfter;
    this.totalSteps = options.totalSteps;
    this.check();
    const schedule = this.rhoSchedule;
    this.schedule = { name: 'rho', key: 'rho', at: (step) => rhoAt(schedule, step), varies: true };
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
    if (this.freezeLevelsAfter !== undefined && !isCount(this.freezeLevelsAfter, 0)) {
      throw new Error(
        `${what}: freezeLevelsAfter must be an integer >= 0, got ${this.freezeLevelsAfter}`,
      );
    }
    if (this.totalSteps !== undefined && !isCount(this.totalSteps, 1)) {
      throw new Error(`${what}: totalSteps must be an integer >= 1, got ${this.totalSteps}`);
    }
    this.groups.forEach((g, i) => {
      if (g.prox)
        throw new Error(`${what}: ${describeGroup(g, i)} sets prox; ADMM uses no prox map`);
    });
  }

  /** True right after `finalize()`, until the next step. */
  get finalized(): boolean {
    return this.finalizedAt === this.step;
  }

  /** ρ now: the value the next step uses. */
  get rho(): number {
    return rhoAt(this.rhoSchedule, this.step);
  }

  /** ρ at any step. */
  rhoAt(step: number): number {
    return rhoAt(this.rhoSchedule, step);
  }

  /** z of a quantized variable (not a copy: don't dispose); null before ADMM starts. */
  getZ(variable: string | { name: string }): tf.Tensor | null {
    return this.getShadow(variable);
  }

  /** λ of a quantized variable (not a copy: don't dispose); null before ADMM starts. */
  getDual(variable: string | { name: string }): tf.Tensor | null {
    return this.slotTensor(variable, 'lambda');
  }

  /**
   * The constraint residual ‖x − z‖ / ‖x‖ over all quantized variables (reads
   * back one number; for reports, not for the step). 0 before ADMM starts.
   */
  async relativeResidual(): Promise<number> {
    const pairs = (this.slots ?? [])
      .map((s) => [s.entry.variable, s.tensors.get('z')] as const)
      .filter((p): p is readonly [tf.Variable, tf.Variable] => p[1] !== undefined);
    if (pairs.length === 0) return 0;
    const r = tf.tidy(() => {
      let num: tf.Tensor = tf.scalar(0);
      let den: tf.Tensor = tf.scalar(0);
      for (const [x, z] of pairs) {
        num = tf.add(num, tf.sum(tf.square(tf.sub(x, z))));
        den = tf.add(den, tf.sum(tf.square(x)));
      }
      return tf.sqrt(tf.div(num, tf.maximum(den, 1e-30)));
    });
    const [v] = await r.data();
    r.dispose();
    return v;
  }

  /** ADMM starts (the first step after warmup): levels from x, z = Proj(x), λ = 0. */
  protected override beforeBaseStep(slots: QatSlot[]): void {
    if (slots.every((s) => s.tensors.has('z'))) return;
    for (const s of slots) {
      if (s.tensors.has('z')) continue;
      tf.tidy(() => {
        const { variable: x, view } = s.entry;
        const xView = tf.reshape(x, view.view) as tf.Tensor3D;
        if (!s.levels) this.refreshLevels(s, xView);
        this.setSlotTensor(s, 'z', this.project1(s, xView));
        this.setSlotTensor(s, 'lambda', tf.zerosLike(x));
      });
    }
    this.projections++;
  }

  /**
   * Inexact x-update: the base optimizer steps on ∇f + λ + ρ(x − z) (a variable held back for
   * the fused step has no gradient here: afterBaseStep steps it).
   */
  protected override gradientsForBase(grads: Grads, names: string[]) {
    const rho = this.rho;
    const slots = this.slots as QatSlot[];
    const byName = new Map(slots.map((s) => [s.entry.name, s]));
    const made: tf.Tensor[] = [];
    const augment = (name: string, g: tf.Tensor): tf.Tensor => {
      const s = byName.get(name);
      if (!s || !g) return g;
      const lambda = s.tensors.get('lambda') as tf.Variable;
      const z = s.tensors.get('z') as tf.Variable;
      const t = tf.tidy(() => tf.add(tf.add(g, lambda), tf.mul(tf.sub(s.entry.variable, z), rho)));
      made.push(t);
      return t;
    };
    const augmented: Grads = Array.isArray(grads)
      ? grads.map((g) => ({ name: g.name, tensor: augment(g.name, g.tensor) }))
      : Object.fromEntries(names.map((n) => [n, augment(n, grads[n])]));
    return { grads: augmented, made };
  }

  /**
   * The fused step: the augmented gradient and the base update of x as one kernel. Not with
   * decoupled weight decay: composed, the gradient is taken from x before the decay, and the
   * kernel (after the base's step) would see x after it.
   */
  protected override fusesBaseStep(): boolean {
    return !this.groups.some((g) => (g.weightDecay ?? 0) > 0);
  }

  protected override afterBaseStep(slots: QatSlot[]): void {
    const rho = this.rho;
    // x-update of the variables held back for the fused step, on ∇f + λ + ρ(x − z)
    tf.tidy(() => {
      for (const s of slots) {
        if (!this.isHeld(s)) continue;
        const lambda = s.tensors.get('lambda') as tf.Variable;
        const z = s.tensors.get('z') as tf.Variable;
        s.entry.variable.assign(this.heldStep(s, { augment: { lambda, z, rho } }).latent);
      }
    });
    const t = this.step - this.warmupSteps + 1;
    if (t % this.projectEvery === 0) this.project(slots, rho);
    if (t % this.dualEvery === 0) this.dualUpdate(slots, rho);
  }

  protected override stepFinished(): void {
    if (this.totalSteps !== undefined && this.step === this.totalSteps) this.finalize();
  }

  /**
   * The nearest level of each weight of `view`, in the variable's shape: the fused prox
   * kernel's hard mode where the backend has it (composed, the broadcast compare and gather
   * took 139 ms of the MLP's projection on wasm; the same values, ties to the lower level).
   */
  private project1(s: QatSlot, view: tf.Tensor3D): tf.Tensor {
    const p = applyProxMode(view, s.levels as tf.Tensor3D, 'hard');
    return tf.reshape(p, s.entry.variable.shape);
  }

  private levelsFrozen(): boolean {
    return this.freezeLevelsAfter !== undefined && this.step >= this.freezeLevelsAfter;
  }

  /** z-update: v = x + λ/ρ, levels from v, p = nearest level, z by the variant. */
  private project(slots: QatSlot[], rho: number): void {
    const frozen = this.levelsFrozen();
    slots.forEach((s, i) => {
      tf.tidy(() => {
        const { variable: x, view } = s.entry;
        const z = s.tensors.get('z') as tf.Variable;
        const v = tf.add(x, tf.div(s.tensors.get('lambda') as tf.Variable, rho));
        const vView = tf.reshape(v, view.view) as tf.Tensor3D;
        if (!frozen || !s.levels) this.refreshLevels(s, vView);
        const p = this.project1(s, vView);
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
  private dualUpdate(slots: QatSlot[], rho: number): void {
    for (const s of slots) {
      const lambda = s.tensors.get('lambda') as tf.Variable;
      const z = s.tensors.get('z') as tf.Variable;
      tf.tidy(() => lambda.assign(tf.add(lambda, tf.mul(tf.sub(s.entry.variable, z), rho))));
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
        const p = this.project1(s, xView);
        x.assign(p);
        this.setSlotTensor(s, 'z', p);
        if (!s.tensors.has('lambda')) this.setSlotTensor(s, 'lambda', tf.zerosLike(x));
      });
    }
    this.finalizedAt = this.step;
  }

  protected stateValues(): number[] {
    return [this.projections, this.finalized ? 1 : 0];
  }

  protected override checkStateValues(values: number[]): void {
    if (!values.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new Error(
        `ADMMQOptimizer.setWeights: 'admmq/state' must hold [step, projections, finalized]`,
      );
    }
  }

  protected setStateValues([projections, finalized]: number[]): void {
    this.projections = projections;
    this.finalizedAt = finalized === 1 ? this.step : -1;
  }

  protected ownConfig(): Record<string, unknown> {
    return {
      rho: this.rhoSchedule,
      variant: this.variant,
      beta: this.beta,
      softNorm: this.softNorm,
      probability: this.probability,
      randomSkip: this.randomSkip,
      seed: this.seed,
      projectEvery: this.projectEvery,
      dualEvery: this.dualEvery,
      freezeLevelsAfter: this.freezeLevelsAfter,
      totalSteps: this.totalSteps,
    };
  }
}

tf.serialization.registerClass(ADMMQOptimizer);
