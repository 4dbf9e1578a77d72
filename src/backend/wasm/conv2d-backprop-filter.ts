// Conv2DBackpropFilter for the wasm backend: the gradient of conv2d with respect to its
// filter. tfjs-backend-wasm 4.22 has no such kernel, so no convolutional network can be
// trained there without it.
//
// dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, oh*sh + kh - padTop, ow*sw + kw - padLeft, ci]
//                                           * dy[n, oh, ow, co]
//
// Two formulations, both running on the backend's compiled XNNPACK kernels:
//  - 'conv': the sum above is itself a convolution. Take the input channels as the batch and
//    the images as the channels: conv2d(x transposed to [C, H, W, N], dy transposed to
//    [OH, OW, N, CO] as the filter, dilation = the forward stride) gives [C, FH, FW, CO].
//  - 'im2col': gather the input patches into a [FH*FW*C, N*OH*OW] matrix with a loop over
//    the wasm heap, then one plain matrix product with dy seen as [N*OH*OW, CO] gives the
//    gradient directly in the filter's [FH, FW, C, CO] layout.
//  - 'simd': an implicit GEMM in WebAssembly SIMD (fg_* in simd/kernels.wat), no patch
//    matrix: x is zero-padded once (when the convolution pads), dy's channels padded to a
//    multiple of 4; then for each filter row, blocks of 4 consecutive (column, channel)
//    values of the patch times 8 (or 4) output channels, accumulated over the pixels of a
//    few images at a time (so x and dy stay in cache), 8 SIMD accumulators.
//  - 'winograd': 3x3 stride-1 'same'/'valid' only, the Winograd F(2x2, 3x3) filter gradient
//    (winograd-filter-grad.ts): 16 multiplies a 2x2 tile and channel pair instead of 36.
// 'winograd' is the default where it applies and measures faster (filterGradMethodFor),
// 'simd' for the rest, wherever the SIMD module runs on the backend's heap (not the
// threaded build); otherwise 'im2col' for 1x1 filters and short multi-channel patches and
// 'conv' for the rest (see chooseFilterGradMethod).
import * as tf from '@tensorflow/tfjs';
import { addressOf, simdKernelsFor, type SimdKernels } from './simd/index.js';
import { winogradFilterGrad3x3, winogradFilterGradApplies } from './winograd-filter-grad.js';
import {
  assertFloat32,
  callWasmKernel,
  disposeIntermediate,
  heapF32,
  convFrame,
  copyIntoFrame,
  transpose4,
  WASM,
  type BackendWasm,
} from './kernel-utils.js';

export type FilterGradMethod = 'conv' | 'im2col' | 'simd' | 'winograd';

/** Longest patch (FH*FW*C) for which the gather + matrix product is the default. */
const IM2COL_MAX_PATCH = 32;

/**
 * Picks the faster formulation for a convolution. Measured (single thread) on the LeNet-5
 * and ResNet-20 layers at batch 64: 'im2col' is 1.7-3x faster for 1x1 filters and ~1.4x for
 * the RGB stem (3x3x3); 'conv' is 1.5-3.5x faster for everything else, including the
 * one-channel 5x5 LeNet stem.
 */
export function chooseFilterGradMethod(info: tf.backend_util.Conv2DInfo): FilterGradMethod {
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const pointwise = info.filterHeight * info.filterWidth === 1;
  return pointwise || (info.inChannels > 1 && patch <= IM2COL_MAX_PATCH) ? 'im2col' : 'conv';
}

/** Input and output channels from which 'winograd' is the default (see filterGradMethodFor). */
const WINOGRAD_FG_MIN_CHANNELS = 8;
/** Fewer input channels (an image's 3) make 'winograd' the default from this many outputs. */
const WINOGRAD_FG_MIN_STEM_CHANNELS = 3;
const WINOGRAD_FG_MIN_STEM_OUT = 16;

/**
 * The formulation used by default where the SIMD module runs: 'winograd' for 3x3 stride-1
 * 'same'/'valid' convolutions from 8 input and 8 output channels (bench/resnet-kernels.mjs at
 * batch 64: 1.4x 'simd' on 32x32x16, 1.9x on 16x16x32, 2.2x on 8x8x64) and from 3 input and
 * 16 output channels (the RGB stem 3 -> 16 on 32x32: F(4x4, 3x3) 1.3-1.5x 'simd', 3.67 against
 * 4.71 ms; with 1 input channel, or 3 -> 8, 'simd' stays faster: 0.6-0.8x), 'simd' for every
 * other shape: 2-4x faster than 'im2col' (the patch matrix then one XNNPACK product) and
 * 1.3-8x faster than 'conv' on every ResNet-20 and LeNet-5 convolution.
 */
export function filterGradMethodFor(info: tf.backend_util.Conv2DInfo): FilterGradMethod {
  const { inChannels: c, outChannels: k } = info;
  return winogradFilterGradApplies(info) &&
    ((c >= WINOGRAD_FG_MIN_CHANNELS && k >= WINOGRAD_FG_MIN_CHANNELS) ||
      (c >= WINOGRAD_FG_MIN_STEM_CHANNELS && k >= WINOGRAD_FG_MIN_STEM_OUT))
    ? 'winograd'
    : 'simd';
}

export function conv2dBackpropFilterNHWC(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  method?: FilterGradMethod,
): tf.TensorInfo {
  let wanted = method ?? filterGradMethodFor(info);
  if (wanted === 'winograd') {
    const dW = winogradFilterGrad3x3(backend, x, dy, info);
    if (dW !== null) return dW;
    wanted = 'simd'; // not a 3x3 stride-1 'same'/'valid' convolution, or no SIMD module
  }
  const simd = wanted === 'simd' ? simdKernelsFor(backend) : null;
  if (simd !== null) return viaSimd(backend, simd, x, dy, info);
  const m = wanted === 'simd' ? chooseFilterGradMethod(info) : wanted;
  return m === 'conv' ? viaConvolution(backend, x, dy, info) : viaIm2col(backend, x, dy, info);
}

/**
 * Bytes of x and dy per fg_* call: as many whole images as fit (at least one), so the chunk
 * stays in cache over the fh * fw*c/4 * co/8 passes made over it. Measured at batch 64 on
 * the ResNet-20 shapes: 96 KB is 1.1-1.4x faster than the 1024 dy pixels a chunk had before
 * (656 KB of 8x8x64 images: 16.0 -> 12.1 ms; the stride-2 layers 8.1 -> 6.4 and 8.7 -> 5.9).
 */
const SIMD_CHUNK_BYTES = 96 * 1024;

function viaSimd(
  backend: BackendWasm,
  simd: SimdKernels,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const frame = convFrame(info);
  const { top, left, hp, wp } = frame;
  const cop = Math.ceil(co / 4) * 4;
  const padX = top > 0 || left > 0 || hp > h || wp > w;
  const xp = padX ? backend.makeOutput([n, hp, wp, c], 'float32') : x;
  const dyp = cop !== co ? backend.makeOutput([n * oh * ow, cop], 'float32') : dy;
  const dWp = backend.makeOutput([fh, fw, c, cop], 'float32');
  // Views after every makeOutput (a heap growth detaches older ones).
  if (padX) copyIntoFrame(heapF32(backend, x), heapF32(backend, xp), info, frame, simd);
  if (dyp !== dy) {
    simd.padrows(addressOf(backend, dy), addressOf(backend, dyp), n * oh * ow, co, cop);
  }
  heapF32(backend, dWp).fill(0);
  const xRowFloats = (padX ? wp : w) * c;
  const xImg = (padX ? hp : h) * xRowFloats * 4;
  const xRow = sh * xRowFloats * 4;
  const xCol = sw * c * 4;
  const dyPix = cop * 4;
  const outRow = cop * 4;
  const j = fw * c; // (column, channel) values of one filter row, contiguous in x and dW
  const perChunk = Math.max(1, Math.floor(SIMD_CHUNK_BYTES / (xImg + oh * ow * dyPix)));
  const xBase = addressOf(backend, xp);
  const dyBase = addressOf(backend, dyp);
  const outBase = addressOf(backend, dWp);
  for (let b0 = 0; b0 < n; b0 += perChunk) {
    const nb = Math.min(perChunk, n - b0);
    const xChunk = xBase + b0 * xImg;
    const dyChunk = dyBase + b0 * oh * ow * dyPix;
    for (let kh = 0; kh < fh; kh++) {
      for (let j0 = 0; j0 < j;) {
        const four = j0 + 4 <= j;
        const xPtr = xChunk + (kh * xRowFloats + j0) * 4;
        const outPtr = outBase + (kh * j + j0) * outRow;
        for (let v0 = 0; v0 < cop;) {
          const eight = v0 + 8 <= cop;
          const f = four ? (eight ? simd.fg_4x2 : simd.fg_4x1) : eight ? simd.fg_1x2 : simd.fg_1x1;
          f(xPtr, dyChunk + v0 * 4, outPtr + v0 * 4, nb, oh, ow, xImg, xRow, xCol, dyPix, outRow);
          v0 += eight ? 8 : 4;
        }
        j0 += four ? 4 : 1;
      }
    }
  }
  if (xp !== x) disposeIntermediate(backend, xp);
  if (dyp !== dy) disposeIntermediate(backend, dyp);
  if (cop === co) return dWp;
  const dW = callWasmKernel(
    'Slice',
    backend,
    { x: dWp },
    { begin: [0, 0, 0, 0], size: [fh, fw, c, co] },
  );
  disposeIntermediate(backend, dWp);
  return dW;
}

function viaConvolution(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Padding that makes the inner convolution's output exactly FH x FW. It is negative
  // when the forward pass never read the last rows/columns of x: then cut them off.
  const bottom = filterHeight + strideHeight * (outHeight - 1) - inHeight - top;
  const right = filterWidth + strideWidth * (outWidth - 1) - inWidth - left;
  let xUsed = x;
  if (bottom < 0 || right < 0) {
    const size = [
      batchSize,
      inHeight + Math.min(bottom, 0),
      inWidth + Math.min(right, 0),
      inChannels,
    ];
    xUsed = callWasmKernel('Slice', backend, { x }, { begin: [0, 0, 0, 0], size });
  }
  const xT = transpose4(backend, xUsed, [3, 1, 2, 0]); // [C, H, W, N]
  if (xUsed !== x) disposeIntermediate(backend, xUsed);
  const dyT = transpose4(backend, dy, [1, 2, 0, 3]); // [OH, OW, N, CO]
  const pad = [
    [0, 0],
    [top, Math.max(bottom, 0)],
    [left, Math.max(right, 0)],
    [0, 0],
  ];
  const grad = callWasmKernel(
    'Conv2D',
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: pad as unknown as tf.NamedAttrMap[string],
      dilations: [strideHeight, strideWidth],
      dataFormat: 'NHWC',
      dimRoundingMode: null as unknown as tf.NamedAttrMap[string],
    },
  ); // [C, FH, FW, CO]
  disposeIntermediate(backend, xT);
  disposeIntermediate(backend, dyT);
  const dW = transpose4(backend, grad, [1, 2, 0, 3]);
  disposeIntermediate(backend, grad);
  return dW;
}

function viaIm2col(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inChannels: c, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const m = n * oh * ow;
  const k = fh * fw * c;
  // x with channels first: [C, N, H, W]. For one channel that is x's own memory layout.
  const xT = c === 1 ? x : transpose4(backend, x, [3, 0, 1, 2]);
  let patches: tf.TensorInfo;
  if (fh === 1 && fw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0) {
    // 1x1, stride 1, no padding: the patches are x itself.
    patches = callWasmKernel('Reshape', backend, { x: xT }, { shape: [k, m] });
  } else {
    patches = backend.makeOutput([k, m], 'float32');
    gatherPatches(heapF32(backend, xT), heapF32(backend, patches), info);
  }
  if (xT !== x) disposeIntermediate(backend, xT);
  const dy2 = callWasmKernel('Reshape', backend, { x: dy }, { shape: [m, co] });
  // XNNPACK fully-connected path: no transposes (the transposed variants are much slower).
  const prod = callWasmKernel(
    'BatchMatMul',
    backend,
    { a: patches, b: dy2 },
    { transposeA: false, transposeB: false },
  );
  disposeIntermediate(backend, patches);
  disposeIntermediate(backend, dy2);
  const dW = callWasmKernel('Reshape', backend, { x: prod }, { shape: [fh, fw, c, co] });
  disposeIntermediate(backend, prod);
  return dW;
}

/**
 * Writes the patch matrix P[(kh*FW + kw)*C + ci, (n*OH + oh)*OW + ow] =
 * x[ci, n, oh*sh + kh - top, ow*sw + kw - left] (zero outside x), from x laid out [C, N, H, W].
 */
function gatherPatches(xv: Float32Array, pv: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh } = info;
  const { outWidth: ow, filterHeight: fh, filterWidth: fw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const m = n * oh * ow;
  const hw = h * w;
  for (let kh = 0; kh < fh; kh++) {
    // Output rows whose input row oh*sh + kh - top lies inside x.
    const rowLo = Math.min(oh, Math.max(0, Math.ceil((top - kh) / sh)));
    const rowHi = Math.max(rowLo, Math.min(oh, Math.floor((h - 1 + top - kh) / sh) + 1));
    for (let kw = 0; kw < fw; kw++) {
      const colLo = Math.min(ow, Math.max(0, Math.ceil((left - kw) / sw)));
      const colHi = Math.max(colLo, Math.min(ow, Math.floor((w - 1 + left - kw) / sw) + 1));
      for (let ci = 0; ci < c; ci++) {
        let o = ((kh * fw + kw) * c + ci) * m;
        const channelBase = ci * n * hw;
        for (let b = 0; b < n; b++) {
          const imageBase = channelBase + b * hw;
          pv.fill(0, o, o + rowLo * ow);
          o += rowLo * ow;
          for (let r = rowLo; r < rowHi; r++) {
            const src = imageBase + (r * sh + kh - top) * w + kw - left;
            pv.fill(0, o, o + colLo);
            if (sw === 1) {
              for (let q = colLo; q < colHi; q++) pv[o + q] = xv[src + q];
            } else {
              for (let q = colLo; q < colHi; q++) pv[o + q] = xv[src + q * sw];
            }
            pv.fill(0, o + colHi, o + ow);
            o += ow;
          }
          pv.fill(0, o, o + (oh - rowHi) * ow);
          o += (oh - rowHi) * ow;
        }
      }
    }
  }
}

/** The kernel function: NHWC natively; NCHW inputs are transposed to NHWC first. */
export function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  assertFloat32('Conv2DBackpropFilter', { x, dy });
  const channelsFirst =
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat) === 'channelsFirst';
  const xNHWC = channelsFirst ? transpose4(backend, x, [0, 2, 3, 1]) : x;
  const dyNHWC = channelsFirst ? transpose4(backend, dy, [0, 2, 3, 1]) : dy;
  const info = tf.backend_util.computeConv2DInfo(
    xNHWC.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const dW = conv2dBackpropFilterNHWC(backend, xNHWC, dyNHWC, info);
  if (channelsFirst) {
    disposeIntermediate(backend, xNHWC);
    disposeIntermediate(backend, dyNHWC);
  }
  return dW;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: WASM,
  kernelFunc: conv2dBackpropFilter as tf.KernelFunc,
};
