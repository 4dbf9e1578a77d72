import * as tf from '@tensorflow/tfjs';
import { mixSeed } from '../util/random.js';

/** A tfjs-layers initializer (the class is not exported by name). */
export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/**
 * Seeded initializers: layer k of a model built with seed s draws its kernel from
 * seed mixSeed(s, k), so the same model seed always gives the same weights, and layers get
 * unrelated streams. Biases are zero (tfjs default), so they need no seed.
 */
export class LayerSeeds {
  private next = 0;

  constructor(private readonly modelSeed: number) {}

  /** Glorot (Xavier) uniform, the Keras/tfjs default for Dense and Conv kernels. */
  glorotUniform(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.take() });
  }

  /** He (Kaiming) normal, fan-in, as in He et al. 2016 for ResNets. */
  heNormal(): Initializer {
    return tf.initializers.heNormal({ seed: this.take() });
  }

  /** Normal with standard deviation `stddev`, redrawn beyond 2 sd (ViT's tokens: 0.02). */
  truncatedNormal(stddev: number): Initializer {
    return tf.initializers.truncatedNormal({ stddev, seed: this.take() });
  }

  private take(): number {
    return mixSeed(this.modelSeed, this.next++);
  }
}
