// A faster BatchMatMul for the wasm backend when an operand is transposed.
//
// The stock wasm kernel sends a product without transposes to XNNPACK, but one with
// transposeA or transposeB to a plain loop that is 10-15x slower. Backpropagation through
// a dense layer needs exactly those two (dW = x^T dy, dx = dy W^T): on the MLP 784-256-256-10
// they took most of the training step. Here a transposed operand is first materialized
// with the wasm Transpose kernel (a copy, cheap next to the product) and the product then
// runs on the stock kernel without transposes. Batched products (batch > 1) and
// non-float32 operands go to the stock kernel unchanged.
import * as tf from '@tensorflow/tfjs';
import { disposeIntermediate, callWasmKernel, type BackendWasm } from './kernel-utils.js';

/** Builds the replacement kernel; `stock` is the backend's own kernel. */
export function makeBatchMatMul(stock: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
    const stockArgs = args as Parameters<tf.KernelFunc>[0];
    if (
      (!transposeA && !transposeB) ||
      a.dtype !== 'float32' ||
      b.dtype !== 'float32' ||
      a.shape.length < 2 ||
      b.shape.length < 2 ||
      tf.util.sizeFromShape(a.shape.slice(0, -2)) !== 1 ||
      tf.util.sizeFromShape(b.shape.slice(0, -2)) !== 1
    ) {
      return stock(stockArgs);
    }
    const a2 = as2d(backend, a, transposeA);
    const b2 = as2d(backend, b, transposeB);
    const product = stock({
      inputs: { a: a2, b: b2 },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    disposeIntermediate(backend, a2);
    disposeIntermediate(backend, b2);
    // Same output shape as the stock kernel: the (size 1) batch dimensions, broadcast.
    const batchRank = Math.max(a.shape.length, b.shape.length) - 2;
    const outShape = [...new Array<number>(batchRank).fill(1), ...product.shape.slice(-2)];
    const out = callWasmKernel('Reshape', backend, { x: product }, { shape: outShape });
    disposeIntermediate(backend, product);
    return out;
  };
  return kernelFunc as tf.KernelFunc;
}

/** The last two dimensions of x as a 2D matrix, transposed (a copy) when `transpose`. */
function as2d(backend: BackendWasm, x: tf.TensorInfo, transpose: boolean): tf.TensorInfo {
  const rows = x.shape[x.shape.length - 2];
  const cols = x.shape[x.shape.length - 1];
  const matrix = callWasmKernel('Reshape', backend, { x }, { shape: [rows, cols] });
  if (!transpose) return matrix;
  const transposed = callWasmKernel('Transpose', backend, { x: matrix }, { perm: [1, 0] });
  disposeIntermediate(backend, matrix);
  return transposed;
}
