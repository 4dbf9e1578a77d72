/**
 * FusedBaseOptimizer: tfjs's own SGD, Momentum or Adam with each variable's update as one
 * kernel, the fused QAT step's update without a map (fused-step.ts), for plain (float)
 * training at the speed a QAT step updates its quantized weights: four tfjs kernels over the
 * weights for momentum and fourteen for Adam become one pass. The same values bit for bit on
 * cpu and wasm, the base optimizer's own state (its `getWeights` and checkpoints are the
 * base's); where the fused step does not run (another base, another backend) the base steps
 * as it always does.
 */
import * as tf from '@tensorflow/tfjs';
import { baseUpdateOf } from './base-update.js';
import { fusedStep, fusedStepRuns } from './fused-step.js';
import { getLearningRate, setLearningRate } from './learning-rate.js';
import {
  baseOptimizerFromConfig,
  type NamedTensor,
  serializeBaseOptimizer,
} from './serialization.js';

type Grads = tf.NamedTensorMap | { name: string; tensor: tf.Tensor | null }[];

export class FusedBaseOptimizer extends tf.Optimizer {
  static className = 'FusedBaseOptimizer';

  constructor(readonly base: tf.Optimizer) {
    super();
    if (!(base instanceof tf.Optimizer)) {
      throw new Error(
        'FusedBaseOptimizer: base must be a tf.Optimizer (e.g. tf.train.momentum(0.05, 0.9))',
      );
    }
  }

  override applyGradients(grads: Grads): void {
    const update = fusedStepRuns() ? baseUpdateOf(this.base) : null;
    if (!update) {
      this.base.applyGradients(grads as tf.NamedTensorMap);
      this.incrementIterations();
      return;
    }
    const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
    const gradient = (i: number) =>
      Array.isArray(grads) ? grads[i].tensor : (grads as tf.NamedTensorMap)[names[i]];
    try {
      // the base's own step with every gradient held back: it creates the variables' state
      // (and advances Adam's beta powers) and updates none of them
      this.base.applyGradients(
        (Array.isArray(grads)
          ? grads.map((g) => ({ name: g.name, tensor: null }))
          : Object.fromEntries(names.map((n) => [n, null]))) as unknown as tf.NamedTensorMap,
      );
      tf.tidy(() => {
        names.forEach((name, i) => {
          const g = gradient(i);
          if (!g) return;
          const v = tf.engine().registeredVariables[name];
          const state = update.state(i);
          if (!state) throw new Error(`FusedBaseOptimizer: the base has no state for '${name}'`);
          const r = fusedStep({ update, x: v, g, state, view: [1, v.size, 1] });
          if (!r) throw new Error('FusedBaseOptimizer: no fused kernel on this backend');
          state.forEach((t, j) => t.assign(r.state[j]));
          v.assign(r.latent);
        });
      });
    } finally {
      tf.dispose(update.made);
    }
    this.incrementIterations();
  }

  get learningRate(): number {
    return getLearningRate(this.base);
  }

  setLearningRate(lr: number): void {
    setLearningRate(this.base, lr);
  }

  override getWeights(): Promise<NamedTensor[]> {
    return this.base.getWeights();
  }

  override setWeights(weights: NamedTensor[]): Promise<void> {
    return this.base.setWeights(weights);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { base: serializeBaseOptimizer(this.base) };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new (cls as any)(baseOptimizerFromConfig(config.base, 'FusedBaseOptimizer'));
  }

  override dispose(): void {
    this.base.dispose();
    super.dispose();
  }
}

tf.serialization.registerClass(FusedBaseOptimizer);
