// The fused ReLU gradient (../relu-grad.ts) on the wasm backend: one SIMD pass,
// dx = dy * s with s = 1 where x > 0, NaN where x is NaN, else 0 (`relu_grad` in
// simd/kernels.wat; the product keeps tfjs's signed zeros and NaN), or the same loop over
// heap views without SIMD.
import * as tf from '@tensorflow/tfjs';
import { RELU_GRAD } from '../relu-grad.js';
import { assertFloat32, heapF32, WASM, type BackendWasm } from './kernel-utils.js';
import { addressOf, simdKernelsFor } from './simd/index.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown };

function reluGrad(args: Args): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  assertFloat32(RELU_GRAD, { dy, x });
  const out = backend.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  const simd = simdKernelsFor(backend);
  if (simd) {
    simd.relu_grad(addressOf(backend, dy), addressOf(backend, x), addressOf(backend, out), n);
  } else {
    const [dv, xv, ov] = [dy, x, out].map((t) => heapF32(backend, t));
    for (let i = 0; i < n; i++) ov[i] = dv[i] * (xv[i] > 0 ? 1 : Number.isNaN(xv[i]) ? NaN : 0);
  }
  return out;
}

export const reluGradConfig: tf.KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: WASM,
  kernelFunc: reluGrad as tf.KernelFunc,
};
