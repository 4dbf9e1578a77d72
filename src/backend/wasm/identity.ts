// Identity, and Cast to the dtype a tensor already has, as a shared reference on the wasm
// backend. The stock kernels copy the whole tensor in the heap; tfjs calls them ~700 times
// in a ResNet-20 training step (clones in the layers, gradients and optimizers; the ReLU
// gradient's cast of a float32 step to float32). Tensors are immutable and the wasm backend
// counts references per buffer (Reshape shares buffers the same way; the cpu backend's
// Identity does too), so sharing is exact. A cast of a number to bool is x != 0 (the stock
// kernel stores the float in a byte: -2.2 becomes 254, true but not 1). Strings and other
// casts go to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel-utils.js';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function share(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** The Identity replacement. */
export function makeIdentity(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: Args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    return x.dtype === 'string'
      ? stock(args as Parameters<tf.KernelFunc>[0])
      : share(args.backend as BackendWasm, x);
  }) as tf.KernelFunc;
}

/** The Cast replacement. */
export function makeCast(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: Args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = (args.attrs ?? {}) as unknown as tf.CastAttrs;
    const backend = args.backend as BackendWasm;
    if (x.dtype === dtype && dtype !== 'string') return share(backend, x);
    if (dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
      const out = backend.makeOutput(x.shape, 'bool');
      const xv = backend.typedArrayFromHeap(x);
      const ov = backend.typedArrayFromHeap(out);
      for (let i = 0; i < xv.length; i++) ov[i] = xv[i] !== 0 ? 1 : 0;
      return out;
    }
    return stock(args as Parameters<tf.KernelFunc>[0]);
  }) as tf.KernelFunc;
}
