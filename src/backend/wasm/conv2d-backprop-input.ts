// A faster Conv2DBackpropInput for the wasm backend (the gradient of conv2d with respect to
// its input, also the forward pass of conv2dTranspose).
//
// tfjs-backend-wasm 4.22 has this kernel, but as a plain loop: on ResNet-20 shapes it is
// about 10x slower than the forward convolution. Four formulations here:
//  - 'winograd' (default for a 3x3 filter at stride 1 with dy of at least
//    WINOGRAD_MIN_CHANNELS channels, where the SIMD module runs): the Winograd F(2x2, 3x3)
//    convolution of dy with the rotated, channel-swapped filter (winogradInputGrad3x3 in
//    ./winograd.ts), 2.25x fewer multiplies than the phase below (1.3-1.8x faster on
//    ResNet-20's stride-1 layers, `node bench/winograd.mjs`).
//  - 'phase' (default where the SIMD module runs, see inputGradMethodFor): a stride sh x sw
//    convolution's input gradient splits into sh*sw phases, the input pixels
//    (a + sh*i, b + sw*j); each is a dense stride-1 convolution of dy with the sub-filter of
//    the taps that reach it (kh = a + top mod sh, + sh, ...), rotated by 180 degrees with
//    in/out channels swapped. No zeros are inserted between dy's pixels and no tap lands on
//    them; each phase runs on `conv_8` (simd/kernels.wat, the implicit-GEMM convolution also
//    used by the one-channel forward conv) and writes straight into every sh-th row and
//    sw-th column of dx. dy is zero-padded into the frame all phases read, a few images
//    (64 KB) at a time so the frame stays in cache. Stride 1 is the single phase (0, 0).
//    Input pixels no tap reaches (a 1x1 filter at stride 2) are 0.
//  - 'simd': the gradient scattered from dy (`bi_8`, the transposed implicit GEMM): each dy
//    pixel's filter-row segments of FW*C values, 32 at a time, get sum over co of
//    filter * dy, into dx zero-padded where the convolution pads, then cropped. No work on
//    the padding: the default where the phases would multiply much of it (LeNet-5's 'valid'
//    5x5, where the full transposed convolution does twice the useful work).
//  - 'conv' (where the SIMD module cannot run: no SIMD, the threaded build): the full
//    transposed convolution on XNNPACK, conv2d(dy with (stride - 1) zeros inserted between
//    its pixels, the rotated and swapped filter, stride 1, padding FH-1-padTop on top /
//    FW-1-padLeft on the left).
// The filter is rearranged per call (filters change every step; nothing is cached). Cases
// none covers (NCHW, non-float32, and for 'conv' explicit padding wider than the filter) go
// to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import {
  callWasmKernel,
  convFrame,
  copyIntoFrame,
  disposeIntermediate,
  heapF32,
  type BackendWasm,
} from './kernel-utils.js';
import { addressOf, simdKernelsFor, type SimdKernels } from './simd/index.js';
import { isUnitStride3x3, WINOGRAD_MIN_CHANNELS, winogradInputGrad3x3 } from './winograd.js';

export type InputGradMethod = 'conv' | 'simd' | 'phase' | 'winograd';

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
 * Whether the Winograd input gradient is the default: a 3x3 filter, stride and dilation 1,
 * padding of at most 2 a side, dy of at least WINOGRAD_MIN_CHANNELS channels (its input
 * channels), non-empty shapes.
 */
function winogradInputGradApplies(info: tf.backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return (
    isUnitStride3x3(info) &&
    Math.min(top, bottom, left, right) >= 0 &&
    Math.max(top, bottom, left, right) <= 2 &&
    info.outChannels >= WINOGRAD_MIN_CHANNELS &&
    [
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
    ].every((d) => d > 0)
  );
}

/**
 * The formulation used where the SIMD module runs, from the multiply-adds each does (lanes
 * included): 'phase' computes every dx pixel from its taps, so it also multiplies the
 * zero padding (a 'valid' convolution's full transposed convolution) and fills 8 lanes per
 * block of input channels; 'simd' (bi_8) does only the taps that meet dy but fills a block
 * of 32 (column, channel) values per filter row and runs at ~0.8x the speed per
 * multiply-add. Measured at batch 64: 'phase' on every ResNet-20 shape (1.2-3x the others,
 * the stride-2 and 1x1 projection layers most) and the RGB stem; 'simd' on LeNet-5's
 * 'valid' 5x5 (14x14, 6 channels: 2x faster).
 */
export function inputGradMethodFor(info: tf.backend_util.Conv2DInfo): InputGradMethod {
  if (winogradInputGradApplies(info)) return 'winograd';
  return phaseWork(info) <= SIMD_SLOWDOWN * scatterWork(info) ? 'phase' : 'simd';
}

/** How much slower bi_8 is than conv_8 per multiply-add (measured, see inputGradMethodFor). */
const SIMD_SLOWDOWN = 1.25;

function phaseWork(info: tf.backend_util.Conv2DInfo): number {
  const rows = axisPhases(info.inHeight, info.filterHeight, info.strideHeight, info.padInfo.top);
  const cols = axisPhases(info.inWidth, info.filterWidth, info.strideWidth, info.padInfo.left);
  let work = 0;
  for (const r of rows) for (const c of cols) work += r.count * c.count * r.taps * c.taps;
  const lanes = Math.ceil(info.inChannels / PHASE_BLOCK) * PHASE_BLOCK;
  return info.batchSize * work * info.outChannels * lanes;
}

function scatterWork(info: tf.backend_util.Conv2DInfo): number {
  const lanes = Math.ceil((info.filterWidth * info.inChannels) / BLOCK) * BLOCK;
  return (
    info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.outChannels * lanes
  );
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
  const m = method ?? inputGradMethodFor(info);
  const simd = m !== 'conv' ? simdKernelsFor(backend) : null;
  if (simd !== null && tf.util.sizeFromShape(dy.shape) > 0) {
    if (m === 'winograd') {
      const dx = winogradInputGrad3x3(backend, dy, filter, info);
      if (dx !== null) return dx;
    }
    return m === 'simd'
      ? viaSimd(backend, simd, dy, filter, info)
      : viaPhases(backend, simd, dy, filter, info);
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

/**
 * One phase of a strided input gradient along one axis: the input rows (or columns)
 * a + stride * i for i < count get their gradient from the filter taps k0 + stride * t for
 * t < taps and dy rows i + d - t. A stride-1 axis has one phase: every tap, d = the padding.
 */
interface AxisPhase {
  a: number;
  k0: number;
  taps: number;
  d: number;
  count: number;
}

function axisPhases(size: number, filter: number, stride: number, pad: number): AxisPhase[] {
  const out: AxisPhase[] = [];
  for (let a = 0; a < stride; a++) {
    const k0 = (a + pad) % stride;
    out.push({
      a,
      k0,
      taps: k0 < filter ? Math.ceil((filter - k0) / stride) : 0,
      d: Math.floor((a + pad) / stride),
      count: a < size ? Math.ceil((size - a) / stride) : 0,
    });
  }
  return out;
}

/** The dy rows [lo, hi) that the phases read (zero outside dy). */
function axisFrame(phases: AxisPhase[]): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of phases) {
    if (p.taps === 0 || p.count === 0) continue;
    lo = Math.min(lo, p.d - p.taps + 1);
    hi = Math.max(hi, p.count + p.d);
  }
  return lo > hi ? { lo: 0, hi: 0 } : { lo, hi };
}

/**
 * dx as stride x stride phase sub-convolutions (`conv_8` in simd/kernels.wat), no inserted
 * zeros: the input pixels (a + sh*i, b + sw*j) get a dense stride-1 convolution of dy with
 * the filter taps (k0_a + sh*t, k0_b + sw*u), rotated by 180 degrees with in/out channels
 * swapped, written straight into every sh-th row and sw-th column of dx. dy is zero-padded
 * once into the frame all phases read; a stride-1 convolution is the single phase (0, 0).
 */
function viaPhases(
  backend: BackendWasm,
  simd: SimdKernels,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const rows = axisPhases(h, fh, sh, info.padInfo.top);
  const cols = axisPhases(w, fw, sw, info.padInfo.left);
  const fr = axisFrame(rows);
  const fc = axisFrame(cols);
  const hp = fr.hi - fr.lo;
  const wp = fc.hi - fc.lo;
  const padded = fr.lo !== 0 || fc.lo !== 0 || hp !== oh || wp !== ow;
  const blocks = Math.ceil(c / PHASE_BLOCK);
  const dx = backend.makeOutput([n, h, w, c], 'float32');
  if (hp === 0 || wp === 0) {
    heapF32(backend, dx).fill(0);
    return dx;
  }
  // A few images at a time (PHASE_CHUNK_BYTES of padded dy), so their frame stays in cache
  // over the phases and blocks that read it.
  const frameImg = hp * wp * co;
  const perChunk = padded ? Math.max(1, Math.floor(PHASE_CHUNK_BYTES / (frameImg * 4))) : n;
  const frame = padded ? backend.makeOutput([Math.min(n, perChunk), hp, wp, co], 'float32') : dy;
  const wt = backend.makeOutput([blocks * fh * fw * co * PHASE_BLOCK], 'float32');
  // Views after every makeOutput (a heap growth detaches older ones).
  const fv = heapF32(backend, filter);
  const tv = heapF32(backend, wt);
  if (c % PHASE_BLOCK !== 0) tv.fill(0);
  // Some input pixels get no tap at all (a 1x1 filter at stride 2): zero them first.
  const uncovered = [...rows, ...cols].some((p) => p.count > 0 && p.taps === 0);
  if (uncovered) heapF32(backend, dx).fill(0);
  const phases: { pr: AxisPhase; pc: AxisPhase; wtOffset: number; x0: number }[] = [];
  let wtOffset = 0; // floats
  for (const pr of rows) {
    for (const pc of cols) {
      if (pr.taps === 0 || pc.taps === 0 || pr.count === 0 || pc.count === 0) continue;
      const j = pc.taps * co; // (column, channel) values of one sub-filter row
      layoutPhaseFilter(fv, tv, wtOffset, pr.k0, sh, pr.taps, pc.k0, sw, pc.taps, fw, c, co);
      // Floats into an image of the frame where the phase's first output pixel reads.
      const x0 = ((pr.d - pr.taps + 1 - fr.lo) * wp + (pc.d - pc.taps + 1 - fc.lo)) * co;
      phases.push({ pr, pc, wtOffset, x0 });
      wtOffset += blocks * pr.taps * j * PHASE_BLOCK;
    }
  }
  const dyInfo = { ...info, inHeight: oh, inWidth: ow, inChannels: co };
  const frameAt = { top: -fr.lo, left: -fc.lo, hp, wp };
  const frameAddr = addressOf(backend, frame);
  const wtAddr = addressOf(backend, wt);
  const dxAddr = addressOf(backend, dx);
  for (let b0 = 0; b0 < n; b0 += perChunk) {
    const nb = Math.min(perChunk, n - b0);
    let chunkAddr = frameAddr + b0 * frameImg * 4;
    if (padded) {
      const dyv = heapF32(backend, dy).subarray(b0 * oh * ow * co, (b0 + nb) * oh * ow * co);
      const pv = heapF32(backend, frame).subarray(0, nb * frameImg);
      copyIntoFrame(dyv, pv, { ...dyInfo, batchSize: nb }, frameAt, simd);
      chunkAddr = frameAddr;
    }
    const dxChunk = dxAddr + b0 * h * w * c * 4;
    for (const { pr, pc, wtOffset: off, x0 } of phases) {
      const j = pc.taps * co;
      for (let blk = 0; blk < blocks; blk++) {
        simd.conv_8(
          chunkAddr + x0 * 4,
          wtAddr + (off + blk * pr.taps * j * PHASE_BLOCK) * 4,
          dxChunk + ((pr.a * w + pc.a) * c + blk * PHASE_BLOCK) * 4,
          nb,
          pr.count,
          pc.count,
          pr.taps,
          j,
          Math.min(PHASE_BLOCK, c - blk * PHASE_BLOCK),
          frameImg * 4,
          wp * co * 4,
          co * 4,
          wp * co * 4,
          sw * c * 4,
          sh * w * c * 4,
          h * w * c * 4,
        );
      }
    }
  }
  if (frame !== dy) disposeIntermediate(backend, frame);
  disposeIntermediate(backend, wt);
  return dx;
}

/**
 * Writes one phase's sub-filter for conv_8, rotated with in/out channels swapped:
 * tv[off + ((block*tapsA + t)*tapsB*co + u*co + o)*8 + lane] =
 *   fv[k0a + sh*(tapsA-1-t), k0b + sw*(tapsB-1-u), block*8 + lane, o] (filter [FH, FW, C, CO]).
 * A function of plain numbers of its own, so V8 compiles the loop tight (~3x faster than
 * inline in viaPhases).
 */
function layoutPhaseFilter(
  fv: Float32Array,
  tv: Float32Array,
  off: number,
  k0a: number,
  sh: number,
  tapsA: number,
  k0b: number,
  sw: number,
  tapsB: number,
  fw: number,
  c: number,
  co: number,
): void {
  const rowFloats = tapsB * co * PHASE_BLOCK;
  for (let t = 0; t < tapsA; t++) {
    const kh = k0a + sh * (tapsA - 1 - t);
    for (let u = 0; u < tapsB; u++) {
      const kw = k0b + sw * (tapsB - 1 - u);
      for (let ci = 0; ci < c; ci++) {
        const src = ((kh * fw + kw) * c + ci) * co;
        const lane = ci % PHASE_BLOCK;
        const blk = (ci - lane) / PHASE_BLOCK;
        const dst = off + (blk * tapsA + t) * rowFloats + u * co * PHASE_BLOCK + lane;
        for (let o = 0; o < co; o++) tv[dst + o * PHASE_BLOCK] = fv[src + o];
      }
    }
  }
}

/** Input channels (of dx) per conv_8 call. */
const PHASE_BLOCK = 8;

/**
 * Bytes of zero-padded dy per chunk of images the phases run on (at least one image): the
 * frame is a small scratch buffer that stays in cache, not a padded copy of all of dy
 * (4.7 MB for ResNet-20's 32x32x16 layers at batch 64). In a training step ~4% faster there.
 */
const PHASE_CHUNK_BYTES = 64 * 1024;
