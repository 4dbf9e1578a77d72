// A faster Conv2DBackpropInput for the wasm backend (the gradient of conv2d with respect to
// its input, also the forward pass of conv2dTranspose).
//
// tfjs-backend-wasm 4.22 has this kernel, but as a plain loop: on ResNet-20 shapes it is
// about 10x slower than the forward convolution. Here it is computed as a forward
// convolution on the backend's XNNPACK kernel instead:
//   dx = conv2d(dy with (stride - 1) zeros inserted between its pixels,
//               the filter rotated by 180 degrees with its in/out channels swapped,
//               stride 1, padding FH-1-padTop on top / FW-1-padLeft on the left).
// That full convolution also multiplies every tap that falls on the inserted zeros and the
// padding: for a 'valid' 5x5 convolution on 14x14 (LeNet-5's second) about twice the useful
// work. Where the SIMD module runs and the input has few channels (see useSimdInputGrad),
// the gradient is instead scattered from dy (`bi_8` in simd/kernels.wat, the transposed
// implicit GEMM): each dy pixel's filter-row segments of FW*C values, 32 at a time, get
// sum over co of filter * dy, into dx zero-padded where the convolution pads, then cropped.
// Cases this does not cover (NCHW, non-float32, explicit padding wider than the filter)
// go to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import {
  callWasmKernel,
  convFrame,
  disposeIntermediate,
  heapF32,
  type BackendWasm,
} from './kernel-utils.js';
import { addressOf, simdKernelsFor, type SimdKernels } from './simd/index.js';

export type InputGradMethod = 'conv' | 'simd';

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeConv2dBackpropInput(stock: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropInputAttrs;
    if (
      dy.dtype !== 'float32' ||
      filter.dtype !== 'float32' ||
      tf.backend_util.convertConv2DDataFormat(attrs.dataFormat) !== 'channelsLast'
    ) {
      return stock(args as Parameters<tf.KernelFunc>[0]);
    }
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    return (
      conv2dBackpropInputNHWC(backend, dy, filter, info) ??
      stock(args as Parameters<tf.KernelFunc>[0])
    );
  };
  return kernelFunc as tf.KernelFunc;
}

/**
 * Whether the scattered SIMD formulation is the default: input channels below 16 (where
 * XNNPACK's tiles are poorly filled and a 'valid' convolution's full transposed convolution
 * does twice the work; LeNet-5's second convolution: ~2x faster) or a stride above 1 (the
 * inserted zeros: ResNet-20's downsampling 3x3, 16 -> 32 channels: ~2.5x). XNNPACK stays
 * faster for stride 1 from 16 channels on (ResNet-20's other 3x3 convolutions: 1.2-1.8x).
 */
export function useSimdInputGrad(info: tf.backend_util.Conv2DInfo): boolean {
  return info.inChannels < 16 || info.strideHeight > 1 || info.strideWidth > 1;
}

/**
 * dx of an NHWC convolution, or null when the padding is outside what this handles. `method`
 * forces a formulation ('simd' falls back to 'conv' where the SIMD module cannot run).
 */
export function conv2dBackpropInputNHWC(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  method?: InputGradMethod,
): tf.TensorInfo | null {
  const wantSimd = method === undefined ? useSimdInputGrad(info) : method === 'simd';
  const simd = wantSimd ? simdKernelsFor(backend) : null;
  if (simd !== null && tf.util.sizeFromShape(dy.shape) > 0) {
    return viaSimd(backend, simd, dy, filter, info);
  }
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const upHeight = (oh - 1) * sh + 1;
  const upWidth = (ow - 1) * sw + 1;
  const padTop = fh - 1 - info.padInfo.top;
  const padLeft = fw - 1 - info.padInfo.left;
  const padBottom = h - upHeight - padTop + fh - 1;
  const padRight = w - upWidth - padLeft + fw - 1;
  if (Math.min(padTop, padLeft, padBottom, padRight) < 0) return null;

  const flipped = backend.makeOutput([fh, fw, co, c], 'float32');
  const upsampled =
    sh > 1 || sw > 1 ? backend.makeOutput([n, upHeight, upWidth, co], 'float32') : dy;
  const fv = heapF32(backend, filter);
  const wv = heapF32(backend, flipped);
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const src = ((fh - 1 - kh) * fw + (fw - 1 - kw)) * c * co;
      const dst = (kh * fw + kw) * co * c;
      for (let ci = 0; ci < c; ci++) {
        for (let o = 0; o < co; o++) wv[dst + o * c + ci] = fv[src + ci * co + o];
      }
    }
  }
  if (upsampled !== dy) {
    const dv = heapF32(backend, dy);
    const uv = heapF32(backend, upsampled);
    uv.fill(0);
    let s = 0;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        let d = (b * upHeight + r * sh) * upWidth * co;
        for (let q = 0; q < ow; q++) {
          for (let o = 0; o < co; o++) uv[d + o] = dv[s + o];
          s += co;
          d += sw * co;
        }
      }
    }
  }
  const pad = [
    [0, 0],
    [padTop, padBottom],
    [padLeft, padRight],
    [0, 0],
  ];
  const dx = callWasmKernel(
    'Conv2D',
    backend,
    { x: upsampled, filter: flipped },
    {
      strides: [1, 1],
      pad: pad as unknown as tf.NamedAttrMap[string],
      dilations: [1, 1],
      dataFormat: 'NHWC',
      dimRoundingMode: null as unknown as tf.NamedAttrMap[string],
    },
  );
  disposeIntermediate(backend, flipped);
  if (upsampled !== dy) disposeIntermediate(backend, upsampled);
  return dx;
}

/** Floats of a filter row each bi_8 call covers. */
const BLOCK = 32;

function viaSimd(
  backend: BackendWasm,
  simd: SimdKernels,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left, hp, wp } = convFrame(info);
  const padded = top > 0 || left > 0 || hp !== h || wp !== w;
  const j = fw * c; // (column, channel) values of one filter row, contiguous in x and dx
  const blocks = Math.ceil(j / BLOCK);
  // wt[kh][block][o][k] = filter[kh, block*32 + k (as column, channel), o], zero past j.
  const wt = backend.makeOutput([fh * blocks * co * BLOCK], 'float32');
  const dx = backend.makeOutput([n, h, w, c], 'float32');
  const out = padded ? backend.makeOutput([n, hp, wp, c], 'float32') : dx;
  // Views after every makeOutput (a heap growth detaches older ones).
  const fv = heapF32(backend, filter);
  const tv = heapF32(backend, wt);
  tv.fill(0);
  for (let kh = 0; kh < fh; kh++) {
    for (let k = 0; k < j; k++) {
      const src = (kh * j + k) * co;
      const dst = (kh * blocks + Math.floor(k / BLOCK)) * co * BLOCK + (k % BLOCK);
      for (let o = 0; o < co; o++) tv[dst + o * BLOCK] = fv[src + o];
    }
  }
  heapF32(backend, out).fill(0);
  const rowBytes = wp * c * 4;
  const outAddr = addressOf(backend, out);
  const dyAddr = addressOf(backend, dy);
  const wtAddr = addressOf(backend, wt);
  for (let b = 0; b < blocks; b++) {
    simd.bi_8(
      dyAddr,
      wtAddr + b * co * BLOCK * 4,
      outAddr + b * BLOCK * 4,
      n,
      oh,
      ow,
      fh,
      co,
      Math.min(BLOCK, j - b * BLOCK),
      hp * rowBytes,
      sh * rowBytes,
      sw * c * 4,
      rowBytes,
      blocks * co * BLOCK * 4,
    );
  }
  disposeIntermediate(backend, wt);
  if (padded) {
    // dx[r, q] = out[r + top, q + left] inside out; zero where the convolution never read x.
    const ov = heapF32(backend, out);
    const dv = heapF32(backend, dx);
    dv.fill(0);
    const r1 = Math.min(h, hp - top);
    const q1 = Math.min(w, wp - left);
    for (let img = 0; img < n; img++) {
      for (let r = 0; r < r1; r++) {
        const src = ((img * hp + r + top) * wp + left) * c;
        dv.set(ov.subarray(src, src + q1 * c), (img * h + r) * w * c);
      }
    }
    disposeIntermediate(backend, out);
  }
  return dx;
}
