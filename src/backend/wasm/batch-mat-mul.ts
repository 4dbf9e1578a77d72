// A faster BatchMatMul for the wasm backend.
//
// The stock wasm kernel sends a product without transposes to XNNPACK, but one with
// transposeA or transposeB to a plain loop that is 10-15x slower. Backpropagation through
// a dense layer needs exactly those two (dW = x^T dy, dx = dy W^T): on the MLP 784-256-256-10
// they took most of the training step. Here a transposed operand is first materialized
// with the wasm Transpose kernel (a copy, cheap next to the product). The product then runs
// on the SIMD module's GEMM (wino_gemm with one position: 4 rows x 8 columns a pass, B read
// as it is) where the module runs, else on the stock kernel without transposes. XNNPACK packs
// B into its own layout on every call whose B is a new tensor, which in training is every
// call (the weights change each step): 64x784 . 784x256 takes 3.1 ms so against 1.5 ms with
// the same B again. Batched products (batch > 1) and non-float32 operands go to the stock
// kernel unchanged. The product takes the SIMD128 module (multiply, then add) also where the
// relaxed one runs the convolutions: the same bits on every machine (relaxed_madd is fused on
// some CPUs, not on others), and dense-layer training then follows the reference's
// trajectories as on cpu (with fused multiply-adds one of conformance/trajectories.json's ten
// runs flipped a weight to another level at step 103).
import * as tf from '@tensorflow/tfjs';
import { addressOf, simdKernelsFor, type SimdKernels } from './simd/index.js';
import { disposeIntermediate, callWasmKernel, heapF32, type BackendWasm } from './kernel-utils.js';

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
    const simd = simdKernelsFor(backend, { relaxed: false });
    if (
      (!transposeA && !transposeB && simd === null) ||
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
    const product =
      simd !== null
        ? simdProduct(backend, simd, a2, b2)
        : (stock({
            inputs: { a: a2, b: b2 },
            backend,
            attrs: { transposeA: false, transposeB: false },
          }) as tf.TensorInfo);
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

/**
 * a ([m, k]) . b ([k, n]) on the SIMD GEMM: rows in fours, columns in eights. a is copied with
 * zero rows up to a multiple of 4 and b with zero columns up to a multiple of 8 only where they
 * are not; the product is then cropped.
 */
export function simdProduct(
  backend: BackendWasm,
  simd: SimdKernels,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): tf.TensorInfo {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const mp = Math.ceil(m / 4) * 4;
  const np = Math.ceil(n / 8) * 8;
  const out = backend.makeOutput([m, n], 'float32');
  if (m === 0 || n === 0) return out;
  const ap = mp === m ? a : backend.makeOutput([mp * k], 'float32');
  const bp = np === n ? b : backend.makeOutput([k * np], 'float32');
  const op = mp === m && np === n ? out : backend.makeOutput([mp * np], 'float32');
  // Views after every makeOutput (a heap growth detaches older ones).
  if (k === 0) heapF32(backend, op).fill(0);
  if (ap !== a) {
    const av = heapF32(backend, ap);
    av.set(heapF32(backend, a));
    av.fill(0, m * k);
  }
  if (bp !== b) simd.padrows(addressOf(backend, b), addressOf(backend, bp), k, n, np);
  if (k > 0) {
    simd.wino_gemm(
      addressOf(backend, ap),
      addressOf(backend, bp),
      addressOf(backend, op),
      mp / 4,
      k,
      np / 8,
      0,
      0,
      0,
      1,
    );
  }
  if (op !== out) {
    const pv = heapF32(backend, op);
    const ov = heapF32(backend, out);
    for (let r = 0; r < m; r++) ov.set(pv.subarray(r * np, r * np + n), r * n);
    disposeIntermediate(backend, op);
  }
  if (ap !== a) disposeIntermediate(backend, ap);
  if (bp !== b) disposeIntermediate(backend, bp);
  return out;
}
