// A Winograd forward convolution for the wasm backend (Lavin & Gray 2016, "Fast Algorithms
// for Convolutional Neural Networks"): NHWC float32, a 3x3 filter, stride 1, dilation 1,
// 'same' or 'valid' padding, as F(2x2, 3x3) or F(4x4, 3x3). Each m x m block of output
// pixels (a tile, m = 2 or 4) comes from the (m+2) x (m+2) input patch around it (patches
// overlap by 2) as
//   Y = A^T [ sum over c of (G g_c G^T) * (B^T d_c B) ] A          (* elementwise)
// i.e. 16 multiplies per 4 outputs (F(2x2)) or 36 per 16 (F(4x4)), input and output channel,
// where direct convolution does 9 per output: 2.25x or 4x fewer. The (m+2)^2 elementwise
// products summed over channels are as many independent GEMMs [tiles x C] . [C x K], which
// is where the time goes; the transforms are O(C) and O(K) a tile. winogradTile picks the
// tile size per shape (F(4x4) where its 6x6 tiles cover the image with few wasted pixels).
//
// Per call (filters change every step, nothing is cached): the filter transform U = G g G^T
// ([positions][Cp][Kp], channels padded with zeros to multiples of 4 and 8; wino_filter /
// wino4_filter, the filter first laid out with whole vectors of output channels where it is
// rotated or they are not a multiple of 4); x read in place, a strip of rows at a time (the
// padding and channels past a multiple of 4 as zeros, in L1: inputSource); then blocks of tiles,
// sized so a block's V and M stay in the core's L2, through three SIMD functions
// (simd/kernels.wat): wino_in / wino4_in (V = B^T d B), wino_gemm (4 tiles x 8 output
// channels a pass, any number of positions) and wino_out / wino4_out (Y = A^T M A, plus
// bias, ReLU). Odd output sizes and channel counts not a multiple of 4 are computed into a
// frame rounded up to whole tiles and cropped.
import * as tf from '@tensorflow/tfjs';
import { disposeIntermediate, heapF32, type BackendWasm } from './kernel-utils.js';
import { addressOf, simdKernelsFor, type SimdKernels } from './simd/index.js';

/**
 * Input channels from which Winograd replaces XNNPACK's direct convolution by default (below
 * it the transforms outweigh the saved multiplies; see docs/wasm-kernels.md for the numbers).
 */
export const WINOGRAD_MIN_CHANNELS = 8;

/** Bytes of V and M a block of tiles may take (half the dev machine's 512 KiB L2 a core). */
const BLOCK_BYTES = 256 * 1024;
/** Floats (a 64-byte cache line) added to the stride between positions of U, V and M. */
const SKEW = 16;

/** A 3x3 filter at stride 1 and dilation 1: the shapes every Winograd kernel here covers. */
export function isUnitStride3x3(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1
  );
}

/**
 * Whether winogradConv3x3 computes this convolution: 3x3 filter, stride 1, dilation 1,
 * 'same' or 'valid' padding, a non-empty output. `minChannels`: the least input channels.
 */
export function winogradApplies(
  info: tf.backend_util.Conv2DInfo,
  minChannels = WINOGRAD_MIN_CHANNELS,
): boolean {
  return (
    isUnitStride3x3(info) &&
    info.dataFormat === 'channelsLast' &&
    (info.padInfo.type === 'SAME' || info.padInfo.type === 'VALID') &&
    info.inChannels >= minChannels &&
    [info.batchSize, info.outHeight, info.outWidth, info.outChannels].every((d) => d > 0)
  );
}

/** The output tile edge: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3). */
export type WinogradTile = 2 | 4;

/**
 * The most input channels (the GEMMs' reduction) winogradTile picks F(4x4, 3x3) for: its
 * float32 rounding error grows with them, ~3e-5 of the output's scale at 64 channels, 5.6e-5
 * at 256, 1.1e-4 at 512 (past the 1e-4 the tests hold it to; F(2x2): 4e-6 at 512).
 */
export const WINOGRAD4_MAX_CHANNELS = 256;

/** The least tile positions (over the batch) F(4x4, 3x3) must save to be chosen. */
export const WINOGRAD4_MIN_SAVED = 512;

/**
 * The tile size a convolution `info` uses by default: F(4x4, 3x3) where it has at most
 * `maxChannels` (WINOGRAD4_MAX_CHANNELS) input channels, its output is at least 4x4, its 6x6 tiles take at most 0.6 of the positions F(2x2, 3x3)'s 4x4 tiles do
 * (tiles x positions an image: 7x7, 8x8, 12x12 and up, not 5x5, 6x6, 9x9-10x10, where
 * partial tiles waste most) and the positions saved over the batch, n x (w2 - w4), are at
 * least WINOGRAD4_MIN_SAVED (else its 36-position filter transform, paid once a call,
 * outweighs them: one 8x8 image). Measured by bench/winograd.mjs; see docs/wasm-kernels.md.
 */
export function winogradTile(
  info: tf.backend_util.Conv2DInfo,
  maxChannels = WINOGRAD4_MAX_CHANNELS,
): WinogradTile {
  const { batchSize: n, outHeight: oh, outWidth: ow } = info;
  const w2 = Math.ceil(oh / 2) * Math.ceil(ow / 2) * 16;
  const w4 = Math.ceil(oh / 4) * Math.ceil(ow / 4) * 36;
  return info.inChannels <= maxChannels &&
    Math.min(oh, ow) >= 4 &&
    w4 <= 0.6 * w2 &&
    n * (w2 - w4) >= WINOGRAD4_MIN_SAVED
    ? 4
    : 2;
}

const up = (a: number, b: number): number => Math.ceil(a / b) * b;

/**
 * The convolution of NHWC float32 x ([N, H, W, C]) with filter ([3, 3, C, K]) described by
 * `info` (see winogradApplies), plus `bias` ([K], optional), then ReLU if `relu`; null where
 * the SIMD module cannot run. For the input gradient see winogradInputGrad3x3.
 */
export function winogradConv3x3(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  bias: tf.TensorInfo | null = null,
  relu = false,
  tile: WinogradTile = winogradTile(info),
): tf.TensorInfo | null {
  return winograd(backend, x, filter, info, bias, relu, false, tile);
}

/**
 * The input gradient dx ([N, H, W, C]) of a stride-1 3x3 convolution (`info`: the forward
 * one, x [N, H, W, C] to dy [N, OH, OW, K], filter [3, 3, C, K], dilation 1, padding of at
 * most 2 a side) as the Winograd convolution of dy with the filter rotated by 180 degrees and
 * its channels swapped (read in place: no rotated copy), padded 2 - the forward padding a
 * side ('same' stays 'same'; 'valid' becomes the full convolution). Null where that does not
 * hold or the SIMD module cannot run.
 */
export function winogradInputGrad3x3(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  tile?: WinogradTile,
): tf.TensorInfo | null {
  const { top, bottom, left, right } = info.padInfo;
  if (
    info.filterHeight !== 3 ||
    info.filterWidth !== 3 ||
    info.strideHeight !== 1 ||
    info.strideWidth !== 1 ||
    info.dilationHeight !== 1 ||
    info.dilationWidth !== 1 ||
    info.dataFormat !== 'channelsLast' ||
    Math.max(top, bottom, left, right) > 2 ||
    Math.min(top, bottom, left, right) < 0 ||
    [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels].some(
      (d) => d <= 0,
    ) ||
    info.outHeight <= 0 ||
    info.outWidth <= 0
  ) {
    return null;
  }
  const { batchSize: n, outHeight: oh, outWidth: ow, inChannels: c, outChannels: k } = info;
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [2 - top, 2 - bottom],
    [2 - left, 2 - right],
    [0, 0],
  ];
  const grad = tf.backend_util.computeConv2DInfo([n, oh, ow, k], [3, 3, k, c], 1, 1, pad);
  return winograd(backend, dy, filter, grad, null, false, true, tile ?? winogradTile(grad));
}

function winograd(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  bias: tf.TensorInfo | null,
  relu: boolean,
  rotated: boolean,
  tile: WinogradTile,
): tf.TensorInfo | null {
  const simd = simdKernelsFor(backend);
  if (simd === null) return null;
  if (tile !== 2 && tile !== 4) throw new Error(`winograd: tile must be 2 or 4, got ${tile}`);
  const { batchSize: n, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: k } = info;
  const positions = (tile + 2) * (tile + 2);
  const th = Math.ceil(oh / tile);
  const tw = Math.ceil(ow / tile);
  const wp = tile * tw + 2;
  const cp = up(c, 4);
  const kp = up(k, 8);
  const k4 = up(k, 4);
  const tiles = n * th * tw;
  const blockTiles = Math.max(
    4,
    Math.min(256, Math.floor(BLOCK_BYTES / (4 * positions * (cp + kp)) / 4) * 4),
  );
  const direct = oh % tile === 0 && ow % tile === 0 && k4 === k;

  const src = inputSource(backend, x, info, wp, cp, tile);
  // U's positions skewed too (else the filter transform's stores collide in the cache).
  const posU = cp * kp + SKEW;
  const u = backend.makeOutput([positions * posU], 'float32');
  // Positions of V and M a cache line more than a power of two apart (else the 16 stores of a
  // tile's transform all map to one L1 set: 1.1x -> 1.6x on ResNet-20's 16-channel conv).
  const posV = blockTiles * cp + SKEW;
  const posM = blockTiles * kp + SKEW;
  const v = backend.makeOutput([positions * posV], 'float32');
  const m = backend.makeOutput([positions * posM], 'float32');
  const b = backend.makeOutput([k4], 'float32');
  // The filter as the SIMD transform reads it, [3, 3, c, k4]: copied only where it is the
  // input gradient's (rotated) or its output channels are not whole vectors.
  const laid = rotated || k4 !== k ? backend.makeOutput([9 * c * k4], 'float32') : null;
  const out = backend.makeOutput([n, oh, ow, k], 'float32');
  const full = direct ? out : backend.makeOutput([n * tile * th * tile * tw * k4], 'float32');
  // Views after every makeOutput (a heap growth detaches older ones).
  const fv = heapF32(backend, filter);
  if (laid !== null) layOutFilter(fv, heapF32(backend, laid), c, k, k4, rotated);
  if (c !== cp || k4 !== kp) heapF32(backend, u).fill(0); // the padded channels stay zero
  (tile === 2 ? simd.wino_filter : simd.wino4_filter)(
    addressOf(backend, laid ?? filter),
    addressOf(backend, u),
    c,
    k4 / 4,
    k4 * 4,
    c * k4 * 4,
    kp * 4,
    posU * 4,
  );
  heapF32(backend, v).fill(0);
  const bv = heapF32(backend, b);
  bv.fill(0);
  if (bias !== null) bv.set(heapF32(backend, bias).subarray(0, k));

  const uAddr = addressOf(backend, u);
  const vAddr = addressOf(backend, v);
  const mAddr = addressOf(backend, m);
  const bAddr = addressOf(backend, b);
  const fullAddr = addressOf(backend, full);
  const outPix = k4 * 4;
  const lo = relu ? 0 : -Infinity;
  const winoIn = tile === 2 ? simd.wino_in : simd.wino4_in;
  const winoOut = tile === 2 ? simd.wino_out : simd.wino4_out;
  for (let t0 = 0; t0 < tiles; t0 += blockTiles) {
    const cnt = Math.min(blockTiles, tiles - t0);
    transformInput(winoIn, src, vAddr, t0, cnt, tw, th, posV * 4);
    simd.wino_gemm(
      vAddr,
      uAddr,
      mAddr,
      Math.ceil(cnt / 4),
      cp,
      kp / 8,
      posV * 4,
      posU * 4,
      posM * 4,
      positions,
    );
    winoOut(
      mAddr,
      fullAddr,
      bAddr,
      t0,
      cnt,
      tw,
      th,
      k4 / 4,
      kp * 4,
      posM * 4,
      outPix,
      tile * tw * outPix,
      tile * tile * th * tw * outPix,
      lo,
    );
  }
  if (!direct) {
    // out[img, r, q, :k] = full[img, r, q, :k]: the whole-tile frame cropped.
    const fullV = heapF32(backend, full);
    const ov = heapF32(backend, out);
    for (let img = 0; img < n; img++) {
      for (let r = 0; r < oh; r++) {
        let src = (img * tile * th + r) * tile * tw * k4;
        let dst = (img * oh + r) * ow * k;
        if (k4 === k) {
          ov.set(fullV.subarray(src, src + ow * k), dst);
          continue;
        }
        for (let q = 0; q < ow; q++, src += k4 - k) {
          for (let ch = 0; ch < k; ch++) ov[dst++] = fullV[src++];
        }
      }
    }
    disposeIntermediate(backend, full);
  }
  for (const t of [u, v, m, b]) disposeIntermediate(backend, t);
  disposeSource(backend, src);
  if (laid !== null) disposeIntermediate(backend, laid);
  return out;
}

/**
 * What the input transform (wino_in, wino4_in) reads x ([n, h, w, c]) with: x in place, row by
 * row, and `strip`, the tile + 2 rows under one row of tiles (wp pixels of cp channels) that it
 * rebuilds where a row of tiles starts (the padding and channels past c as zeros). Dispose with
 * disposeSource.
 */
export interface InputSource {
  addr: number;
  pixB: number;
  rowB: number;
  imgB: number;
  h: number;
  w: number;
  c: number;
  top: number;
  left: number;
  stripAddr: number;
  strip: tf.TensorInfo;
}

/** The InputSource of x for tiles of `tile` x `tile` outputs, wp pixels a row of tiles. */
export function inputSource(
  backend: BackendWasm,
  x: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  wp: number,
  cp: number,
  tile: number,
): InputSource {
  const { inHeight: h, inWidth: w, inChannels: c } = info;
  const strip = backend.makeOutput([(tile + 2) * wp * cp], 'float32');
  return {
    addr: addressOf(backend, x),
    pixB: cp * 4,
    rowB: w * c * 4,
    imgB: h * w * c * 4,
    h,
    w,
    c,
    top: info.padInfo.top,
    left: info.padInfo.left,
    stripAddr: addressOf(backend, strip),
    strip,
  };
}

/** The input transform `winoIn` of tiles t0..t0 + cnt of `src` into V (posB bytes a position). */
export function transformInput(
  winoIn: SimdKernels['wino_in'],
  src: InputSource,
  v: number,
  t0: number,
  cnt: number,
  tw: number,
  th: number,
  posB: number,
): void {
  winoIn(
    src.addr,
    v,
    t0,
    cnt,
    tw,
    th,
    src.pixB / 16,
    src.pixB,
    src.rowB,
    src.imgB,
    posB,
    src.h,
    src.w,
    src.c,
    src.top,
    src.left,
    src.stripAddr,
  );
}

/** Frees what inputSource allocated. */
export function disposeSource(backend: BackendWasm, src: InputSource): void {
  disposeIntermediate(backend, src.strip);
}

/**
 * The filter g the transform reads, out[kh, kw, ci, o] ([3, 3, c, k4], zero for o >= k):
 * filter[kh, kw, ci, o] ([3, 3, c, k]), or where `rotated` the input gradient's filter, the
 * forward one ([3, 3, k, c]) rotated by 180 degrees with its channels swapped,
 * filter[2 - kh, 2 - kw, o, ci].
 */
function layOutFilter(
  fv: Float32Array,
  out: Float32Array,
  c: number,
  k: number,
  k4: number,
  rotated: boolean,
): void {
  const ck = c * k;
  for (let tap = 0; tap < 9; tap++) {
    const src = (rotated ? 8 - tap : tap) * ck;
    for (let ci = 0; ci < c; ci++) {
      const dst = (tap * c + ci) * k4;
      for (let o = 0; o < k; o++) out[dst + o] = fv[src + (rotated ? o * c + ci : ci * k + o)];
      for (let o = k; o < k4; o++) out[dst + o] = 0;
    }
  }
}
