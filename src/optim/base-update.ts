/**
 * The update of tfjs's own SGD, Momentum and Adam optimizers, as a fused QAT step runs it
 * itself (fused-step.ts): which update, the scalars it uses, and a variable's state.
 * Recognized only for those exact classes with the fields tfjs 4 gives them (a subclass may
 * step differently; a tfjs whose fields differ is simply not recognized): for anything else
 * the base optimizer steps on its own, as before.
 */
import * as tf from '@tensorflow/tfjs';

/** The update's kind, as the prox module's functions and the fused kernel take it. */
export type BaseUpdateKind = 0 | 1 | 2 | 3;

/**
 * One step of a base optimizer, taken before the optimizer's own step (which then skips the
 * variables whose gradients are held back, after creating their state).
 */
export interface BaseUpdate {
  /**
   * 0 SGD `x' = c*g + x`; 1 momentum `a' = m*a + g, x' = c*a' + x`; 2 Nesterov
   * `x' = c*(g + a'*m) + x`; 3 Adam (the two moments `a`, `a2`, bias corrections `s1`, `s2`).
   */
  readonly kind: BaseUpdateKind;
  /** The kernel's scalar inputs: `c` (and `m`) for SGD and momentum, `s1`, `s2` for Adam. */
  readonly scalars: tf.NamedTensorMap;
  /** The kernel's number attributes (Adam's betas, epsilon and -lr, rounded as tfjs rounds them). */
  readonly attrs: Record<string, number>;
  /**
   * The optimizer's state variables of the variable at position `i` of its gradients, in the
   * kernel's order (`a`, then `a2`): created by the optimizer's own step, so ask after it;
   * null where one is missing. Empty for SGD.
   */
  state(i: number): tf.Variable[] | null;
  /** Tensors made for this step (Adam's `1 - beta^t` as of before it), to dispose after it. */
  readonly made: tf.Tensor[];
}

const isScalar32 = (t: unknown): t is tf.Tensor =>
  t instanceof tf.Tensor && !t.isDisposed && t.size === 1 && t.dtype === 'float32';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The variables of a tfjs state list (`{originalName, variable}[]`) at `i`, or null. */
function stateAt(lists: unknown[][], i: number): tf.Variable[] | null {
  const out: tf.Variable[] = [];
  for (const list of lists) {
    const v = (list[i] as { variable?: unknown } | undefined)?.variable;
    if (!(v instanceof tf.Variable)) return null;
    out.push(v);
  }
  return out;
}

/**
 * The update `base` takes now (its `c` changes with the learning rate; Adam's corrections
 * with every step): call it before the optimizer's own step. Null for other optimizers.
 */
export function baseUpdateOf(base: tf.Optimizer): BaseUpdate | null {
  const o = base as unknown as Record<string, unknown>;
  const proto = Object.getPrototypeOf(base);
  if (proto === tf.SGDOptimizer.prototype && isScalar32(o.c)) {
    return { kind: 0, scalars: { c: o.c }, attrs: {}, state: () => [], made: [] };
  }
  if (
    proto === tf.MomentumOptimizer.prototype &&
    isScalar32(o.c) &&
    isScalar32(o.m) &&
    typeof o.useNesterov === 'boolean' &&
    Array.isArray(o.accumulations)
  ) {
    const accumulations = o.accumulations as unknown[];
    return {
      kind: o.useNesterov ? 2 : 1,
      scalars: { m: o.m, c: o.c },
      attrs: {},
      state: (i) => stateAt([accumulations], i),
      made: [],
    };
  }
  if (
    proto === tf.AdamOptimizer.prototype &&
    isScalar32(o.accBeta1) &&
    isScalar32(o.accBeta2) &&
    isNumber(o.beta1) &&
    isNumber(o.beta2) &&
    isNumber(o.epsilon) &&
    isNumber(o.learningRate) &&
    Array.isArray(o.accumulatedFirstMoment) &&
    Array.isArray(o.accumulatedSecondMoment)
  ) {
    const first = o.accumulatedFirstMoment as unknown[];
    const second = o.accumulatedSecondMoment as unknown[];
    const f32 = Math.fround;
    // as tfjs's Adam computes them at the start of its step, before it advances beta^t
    const s1 = tf.keep(tf.sub(1, o.accBeta1));
    const s2 = tf.keep(tf.sub(1, o.accBeta2));
    return {
      kind: 3,
      scalars: { s1, s2 },
      attrs: {
        b1: f32(o.beta1),
        ob1: f32(1 - o.beta1),
        b2: f32(o.beta2),
        ob2: f32(1 - o.beta2),
        eps: f32(o.epsilon),
        nlr: f32(-o.learningRate),
      },
      state: (i) => stateAt([first, second], i),
      made: [s1, s2],
    };
  }
  return null;
}
