// A faster forward Conv2D for the wasm backend, for one input channel (a grayscale stem:
// LeNet-5's first convolution, 5x5 'same' from 1 to 6 channels). XNNPACK's kernel fills its
// tiles poorly there (2.3 ms at batch 64 on the dev machine, ~6.5 GFLOP/s); here one SIMD
// pass (`conv_8` in simd/kernels.wat, the implicit-GEMM convolution) computes each output pixel's channels, eight at a
// time, from one splat of x per filter tap, x zero-padded once where the convolution pads.
// A 3x3 stride-1 'same' or 'valid' convolution of enough input channels is a Winograd
// F(2x2, 3x3) one instead (./winograd.ts). Everything else (other filters and strides with
// more input channels, dilation, NCHW, non-float32, no SIMD) goes to the stock kernel.
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
      x.shape[3] === 1 &&
      tf.backend_util.convertConv2DDataFormat(attrs.dataFormat) === 'channelsLast' &&
      tf.backend_util.eitherStridesOrDilationsAreOne(1, dilations) &&
      (typeof dilations === 'number' ? dilations === 1 : dilations.every((d) => d === 1)) &&
      tf.util.sizeFromShape(x.shape) > 0
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
    if (info.outHeight * info.outWidth * info.outChannels === 0) {
      return stock(args as Parameters<tf.KernelFunc>[0]);
    }
    return conv2dOneChannel(backend, simd, x, filter, info);
  };
  return kernelFunc as tf.KernelFunc;
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

/** The convolution of a one-channel NHWC x, on the SIMD module. */
export function conv2dOneChannel(
  backend: BackendWasm,
  simd: SimdKernels,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const frame = convFrame(info);
  const { top, left, hp, wp } = frame;
  const padX = top > 0 || left > 0 || hp !== h || wp !== w;
  const blocks = Math.ceil(co / BLOCK);
  const xp = padX ? backend.makeOutput([n, hp, wp, 1], 'float32') : x;
  const wt = backend.makeOutput([blocks * fh * fw * BLOCK], 'float32');
  const out = backend.makeOutput([n, oh, ow, co], 'float32');
  // Views after every makeOutput (a heap growth detaches older ones).
  if (padX) copyIntoFrame(heapF32(backend, x), heapF32(backend, xp), info, frame);
  // wt[block][kh][kw][o] = filter[kh, kw, 0, block*8 + o], zero past co.
  const fv = heapF32(backend, filter);
  const tv = heapF32(backend, wt);
  tv.fill(0);
  for (let t = 0; t < fh * fw; t++) {
    for (let o = 0; o < co; o++) {
      tv[(Math.floor(o / BLOCK) * fh * fw + t) * BLOCK + (o % BLOCK)] = fv[t * co + o];
    }
  }
  const xAddr = addressOf(backend, xp);
  const wtAddr = addressOf(backend, wt);
  const outAddr = addressOf(backend, out);
  for (let b = 0; b < blocks; b++) {
    simd.conv_8(
      xAddr,
      wtAddr + b * fh * fw * BLOCK * 4,
      outAddr + b * BLOCK * 4,
      n,
      oh,
      ow,
      fh,
      fw,
      Math.min(BLOCK, co - b * BLOCK),
      hp * wp * 4,
      sh * wp * 4,
      sw * 4,
      wp * 4,
      co * 4,
      ow * co * 4,
      oh * ow * co * 4,
    );
  }
  if (xp !== x) disposeIntermediate(backend, xp);
  disposeIntermediate(backend, wt);
  return out;
}
