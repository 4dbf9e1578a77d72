// A MaxPoolGrad for the wasm backend that matches the cpu backend.
//
// The stock wasm kernel breaks ties between equal maxima differently from the cpu (and
// webgl) backends, so the same network gets a different input gradient on wasm whenever
// a pooling window holds equal values (e.g. zeros after a ReLU). This version routes the
// gradient to the first maximum of each window in row-major order, like the cpu backend,
// by one pass over the windows on the wasm heap: `maxpool_grad` in simd/kernels.wat (four
// channels per SIMD step) where the SIMD module runs, else the JavaScript loop below.
// NCHW, dilation and non-float32 inputs go to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import { heapF32, type BackendWasm } from './kernel-utils.js';
import { addressOf, simdKernelsFor } from './simd/index.js';

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeMaxPoolGrad(stock: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const attrs = (args.attrs ?? {}) as unknown as tf.MaxPoolGradAttrs;
    if (dy.dtype !== 'float32' || input.dtype !== 'float32' || input.shape.length !== 4) {
      return stock(args as Parameters<tf.KernelFunc>[0]);
    }
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const dx = backend.makeOutput(input.shape, 'float32');
    const simd = simdKernelsFor(backend);
    if (simd !== null) {
      heapF32(backend, dx).fill(0);
      simd.maxpool_grad(
        addressOf(backend, input),
        addressOf(backend, dy),
        addressOf(backend, dx),
        info.batchSize,
        info.inHeight,
        info.inWidth,
        info.inChannels,
        info.outHeight,
        info.outWidth,
        info.filterHeight,
        info.filterWidth,
        info.strideHeight,
        info.strideWidth,
        info.padInfo.top,
        info.padInfo.left,
      );
      return dx;
    }
    maxPoolGradInto(heapF32(backend, input), heapF32(backend, dy), heapF32(backend, dx), info);
    return dx;
  };
  return kernelFunc as tf.KernelFunc;
}

/** dx[argmax of each window] += dy[window], first maximum in row-major window order. */
export function maxPoolGradInto(
  xv: Float32Array,
  dv: Float32Array,
  ov: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  ov.fill(0);
  let d = 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const rowStart = r * sh - top;
      const r0 = Math.max(rowStart, 0);
      const r1 = Math.min(h, rowStart + fh);
      for (let q = 0; q < ow; q++) {
        const colStart = q * sw - left;
        const c0 = Math.max(colStart, 0);
        const c1 = Math.min(w, colStart + fw);
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let i = r0; i < r1; i++) {
            let p = ((b * h + i) * w + c0) * c + ch;
            for (let j = c0; j < c1; j++) {
              const v = xv[p];
              if (v > best) {
                best = v;
                at = p;
              }
              p += c;
            }
          }
          if (at >= 0) ov[at] += dv[d + ch];
        }
        d += c;
      }
    }
  }
}
