// The ReLU gradient as one kernel where the backend has it: dx = dy * step(x), where step is
// 1 above 0, NaN at NaN, 0 elsewhere (tfjs's step). tfjs-core's gradient composes it of
// Step, Cast and Multiply, two extra passes over the activation and an intermediate
// tensor; parq-ts registers RELU_GRAD for wasm (./wasm/relu-grad.ts), and this module
// replaces tfjs's Relu gradient by one that calls it where the current backend has it and
// is tfjs's own composition everywhere else, so other backends do not change.
import * as tf from '@tensorflow/tfjs';

/** Inputs dy, x (same shape, float32); output dx = dy * step(x). */
export const RELU_GRAD = 'ParqReluGrad';

/** dy * step(x): the fused kernel where the current backend has it, else tfjs's ops. */
export function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (
    dy.dtype === 'float32' &&
    x.dtype === 'float32' &&
    tf.util.arraysEqual(dy.shape, x.shape) &&
    tf.getKernel(RELU_GRAD, tf.getBackend()) != null
  ) {
    return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}

tf.registerGradient({
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => reluGrad(dy as tf.Tensor, x) };
  },
});
