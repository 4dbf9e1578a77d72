/**
 * The update of tfjs's own SGD and Momentum optimizers, as a fused QAT step runs it itself
 * (fused-step.ts): which update, the scalars it multiplies by, and a variable's accumulation.
 * Recognized only for those exact classes with the fields tfjs 4 gives them (a subclass may
 * step differently; a tfjs whose fields differ is simply not recognized): for anything else
 * the base optimizer steps on its own, as before.
 */
import * as tf from '@tensorflow/tfjs';

/** The update's kind, as the prox module's `momentum` function takes it. */
export const BASE_UPDATE_KINDS = { sgd: 0, momentum: 1, nesterov: 2 } as const;

export interface BaseUpdate {
  /** 0 SGD `x' = c*g + x`; 1 momentum `a' = m*a + g, x' = c*a' + x`; 2 Nesterov `x' = c*(g + a'*m) + x`. */
  readonly kind: 0 | 1 | 2;
  /** The optimizer's own scalars: the momentum (null for SGD) and `c = -lr`. */
  readonly m: tf.Tensor | null;
  readonly c: tf.Tensor;
  /**
   * The accumulation of the variable at position `i` of the gradients it was given (the
   * optimizer creates it on its first step, also for a variable whose gradient is left out);
   * null for SGD, or where there is none.
   */
  accumulation(i: number): tf.Variable | null;
}

const isScalar32 = (t: unknown): t is tf.Tensor =>
  t instanceof tf.Tensor && !t.isDisposed && t.size === 1 && t.dtype === 'float32';

/** The update of `base` as of now (its `c` changes with the learning rate), or null. */
export function baseUpdateOf(base: tf.Optimizer): BaseUpdate | null {
  const o = base as unknown as {
    c?: unknown;
    m?: unknown;
    useNesterov?: unknown;
    accumulations?: unknown;
  };
  const proto = Object.getPrototypeOf(base);
  if (!isScalar32(o.c)) return null;
  if (proto === tf.SGDOptimizer.prototype) {
    return { kind: 0, m: null, c: o.c, accumulation: () => null };
  }
  if (
    proto === tf.MomentumOptimizer.prototype &&
    isScalar32(o.m) &&
    typeof o.useNesterov === 'boolean' &&
    Array.isArray(o.accumulations)
  ) {
    const accumulations = o.accumulations as ({ variable?: unknown } | undefined)[];
    return {
      kind: o.useNesterov ? 2 : 1,
      m: o.m,
      c: o.c,
      accumulation: (i) => {
        const v = accumulations[i]?.variable;
        return v instanceof tf.Variable ? v : null;
      },
    };
  }
  return null;
}
