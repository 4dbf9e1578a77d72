// A faster FusedConv2D for the wasm backend (tf.fused.conv2d: tfjs-layers' conv2d, with or
// without bias): where Winograd applies (./winograd.ts: 3x3, stride 1, 'same' or 'valid',
// enough input channels) and the fusion is one it computes (no bias or a [K] bias; activation
// linear or relu; no prelu weights), the Winograd convolution with bias and ReLU in its output
// transform; without bias and activation (ResNet-20's stride-2 and stem convolutions), the
// implicit GEMM where Conv2D prefers it (./conv2d.ts); everything else goes to the stock
// kernel (XNNPACK).
import * as tf from '@tensorflow/tfjs';
import { conv2dImplicitGemm, implicitGemmPreferred } from './conv2d.js';
import type { BackendWasm } from './kernel-utils.js';
import { simdKernelsFor } from './simd/index.js';
import { winogradApplies, winogradConv3x3 } from './winograd.js';

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeFusedConv2D(stock: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { x, filter, bias, preluActivationWeights } = args.inputs as {
      x: tf.TensorInfo;
      filter: tf.TensorInfo;
      bias?: tf.TensorInfo;
      preluActivationWeights?: tf.TensorInfo;
    };
    const attrs = (args.attrs ?? {}) as unknown as tf.FusedConv2DAttrs;
    const activation = attrs.activation ?? 'linear';
    const k = filter.shape[3];
    const fusable =
      x.dtype === 'float32' &&
      filter.dtype === 'float32' &&
      x.shape.length === 4 &&
      filter.shape.length === 4 &&
      preluActivationWeights == null &&
      (activation === 'linear' || activation === 'relu') &&
      (bias == null ||
        (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === k)) &&
      tf.backend_util.convertConv2DDataFormat(attrs.dataFormat) === 'channelsLast' &&
      (attrs.pad === 'same' || attrs.pad === 'valid');
    if (fusable) {
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filter.shape as [number, number, number, number],
        attrs.strides,
        attrs.dilations ?? 1,
        attrs.pad,
        attrs.dimRoundingMode,
        false,
        'channelsLast',
      );
      if (winogradApplies(info)) {
        const out = winogradConv3x3(backend, x, filter, info, bias ?? null, activation === 'relu');
        if (out !== null) return out;
      } else if (bias == null && activation === 'linear' && implicitGemmPreferred(info)) {
        const simd = simdKernelsFor(backend);
        if (simd !== null) return conv2dImplicitGemm(backend, simd, x, filter, info);
      }
    }
    return stock(args as Parameters<tf.KernelFunc>[0]);
  };
  return kernelFunc as tf.KernelFunc;
}
