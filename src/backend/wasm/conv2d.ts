// A faster forward Conv2D for the wasm backend. A 3x3 stride-1 'same' or 'valid'
// convolution of enough input channels is a Winograd one (./winograd.ts). Every other
// float32 NHWC convolution with a filter larger than 1x1, or one input channel, and dilation
// 1 runs as one SIMD implicit GEMM (`conv_8` in simd/kernels.wat: each output pixel's
// channels eight at a time, a filter row's fw * c patch floats splatted in turn; x zero-padded
// once where the convolution pads): XNNPACK fills its tiles poorly there (node
// bench/conv-forward.mjs at batch 64 on the dev machine, the same values to the bit:
// 1.46-1.52x on ResNet-20's stride-2 3x3 layers, 1.41x on its 3-channel stem, 2.1x and 1.27x
// on LeNet-5's two). 1x1 filters (0.97-1.2x across runs: left to XNNPACK's GEMM), dilation,
// NCHW, non-float32 and no SIMD go to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import {
  convFrame,
  copyIntoFrame,
  disposeIntermediate,
  heapF32,
  type BackendWasm,
} from './kernel-utils.js';
import { addressOf, simdKernelsFor, type SimdKernels } from './simd/index.js';
import { winogradApplies, winogradConv3x3 } from './winograd.js';

/** Output channels per conv_8 call. */
const BLOCK = 8;

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeConv2D(stock: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DAttrs;
    const dilations = attrs.dilations ?? 1;
    const wino = winogradConv(backend, x, filter, attrs);
    if (wino !== null) return wino;
    const simd =
      x.dtype === 'float32' &&
      filter.dtype === 'float32' &&
      x.shape.length === 4 &&
      filter.shape.length === 4 &&
      tf.backend_util.convertConv2DDataFormat(attrs.dataFormat) === 'channelsLast' &&
      (typeof dilations === 'number' ? dilations === 1 : dilations.every((d) => d === 1))
        ? simdKernelsFor(backend)
        : null;
    if (simd === null) return stock(args as Parameters<tf.KernelFunc>[0]);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    if (!implicitGemmPreferred(info)) return stock(args as Parameters<tf.KernelFunc>[0]);
    return conv2dImplicitGemm(backend, simd, x, filter, info);
  };
  return kernelFunc as tf.KernelFunc;
}

/**
 * Whether conv2dImplicitGemm is the default for a (non-Winograd, dilation-1, NHWC) forward
 * convolution: a non-empty output, and one input channel or a filter larger than 1x1.
 */
export function implicitGemmPreferred(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    tf.util.sizeFromShape(info.inShape) > 0 &&
    info.outHeight * info.outWidth * info.outChannels > 0 &&
    (info.inChannels === 1 || info.filterHeight * info.filterWidth > 1)
  );
}

/** The Winograd convolution where it applies (see winogradApplies), else null. */
function winogradConv(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.Conv2DAttrs,
): tf.TensorInfo | null {
  if (
    x.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    x.shape.length !== 4 ||
    filter.shape.length !== 4 ||
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat) !== 'channelsLast' ||
    (attrs.pad !== 'same' && attrs.pad !== 'valid')
  ) {
    return null;
  }
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
  return winogradApplies(info) ? winogradConv3x3(backend, x, filter, info) : null;
}

/**
 * An NHWC convolution on the SIMD module's implicit GEMM (conv_8, 8 output channels a pass):
 * a filter row's patch is the fw * c consecutive floats of a row of x (the zero frame where
 * the convolution pads). The default where implicitGemmPreferred holds.
 */
export function conv2dImplicitGemm(
  backend: BackendWasm,
  simd: SimdKernels,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const frame = convFrame(info);
  const { top, left, hp, wp } = frame;
  const padX = top > 0 || left > 0 || hp !== h || wp !== w;
  const blocks = Math.ceil(co / BLOCK);
  const xp = padX ? backend.makeOutput([n, hp, wp, c], 'float32') : x;
  const fwc = fw * c; // a filter row's patch: fw pixels of c channels
  const wt = backend.makeOutput([blocks * fh * fwc * BLOCK], 'float32');
  const out = backend.makeOutput([n, oh, ow, co], 'float32');
  // Views after every makeOutput (a heap growth detaches older ones).
  if (padX) copyIntoFrame(heapF32(backend, x), heapF32(backend, xp), info, frame, simd);
  // wt[block][kh][kw c + ci][o] = filter[kh, kw, ci, block*8 + o], zero past co.
  const fv = heapF32(backend, filter);
  const tv = heapF32(backend, wt);
  tv.fill(0);
  for (let t = 0; t < fh * fwc; t++) {
    for (let o = 0; o < co; o++) {
      tv[(Math.floor(o / BLOCK) * fh * fwc + t) * BLOCK + (o % BLOCK)] = fv[t * co + o];
    }
  }
  const xAddr = addressOf(backend, xp);
  const wtAddr = addressOf(backend, wt);
  const outAddr = addressOf(backend, out);
  for (let b = 0; b < blocks; b++) {
    simd.conv_8(
      xAddr,
      wtAddr + b * fh * fwc * BLOCK * 4,
      outAddr + b * BLOCK * 4,
      n,
      oh,
      ow,
      fh,
      fwc,
      Math.min(BLOCK, co - b * BLOCK),
      hp * wp * c * 4,
      sh * wp * c * 4,
      sw * c * 4,
      wp * c * 4,
      co * 4,
      ow * co * 4,
      oh * ow * co * 4,
    );
  }
  if (xp !== x) disposeIntermediate(backend, xp);
  disposeIntermediate(backend, wt);
  return out;
}
