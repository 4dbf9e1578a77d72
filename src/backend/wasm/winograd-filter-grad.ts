// The Winograd filter gradient (Conv2DBackpropFilter) for the wasm backend, F(2x2, 3x3) or
// F(4x4, 3x3): NHWC float32, a 3x3 filter, stride 1, dilation 1, 'same' or 'valid' padding.
// The forward (winograd.ts) is Y_tile = A^T [ sum over c of (G g_c G^T) * (B^T d_c B) ] A,
// linear in g, so its transpose gives, summed over every m x m output tile of every image,
//   dW[:, :, c, k] = G^T [ sum over tiles of V_c * W_k ] G,   V = B^T d B,  W = A dY A^T
// (* elementwise; d the tile's (m+2) x (m+2) input patch, zero-padded as the forward pads; dY
// the tile's m x m block of dy, zero where the tile runs past the output). The bracket is
// (m+2)^2 GEMMs S[pos][c][k] = sum over tiles of V[pos][tile][c] * W[pos][tile][k], with the
// tiles as the reduction axis: per output pixel and channel pair 4 multiplies (F(2x2): 16 a
// 2x2 tile) or 2.25 (F(4x4): 36 a 4x4 tile) where the direct filter gradient (fg_* in
// simd/kernels.wat) does 9; the transforms are O(C) and O(K) a tile.
//
// Per call: x read in place a strip of rows at a time (the forward's inputSource), dy into a whole-tile frame only where its size is not a multiple of m or its channels not of 4; then blocks of
// tiles, sized so a block's V and W stay in the core's L2, through wino_in / wino4_in (V, the
// forward's own input transform), wino_dy / wino4_dy (W) and wino_fgemm (S += V^T W, 4
// channels x 8 output channels a pass); finally dW = G^T S G (3x3 from (m+2) x (m+2), once
// per channel pair: wino_back / wino4_back over vectors of 4 output channels, cropped where
// their count is not a multiple of 4).
import * as tf from '@tensorflow/tfjs';
import { disposeIntermediate, heapF32, type BackendWasm } from './kernel-utils.js';
import { addressOf, simdKernelsFor } from './simd/index.js';
import {
  disposeSource,
  inputSource,
  transformInput,
  winogradApplies,
  winogradTile,
  type WinogradTile,
} from './winograd.js';

/** Bytes of V and W a block of tiles may take (half the dev machine's 512 KiB L2 a core). */
const BLOCK_BYTES = 256 * 1024;
/** Floats (a 64-byte cache line) added to the stride between positions of V and W. */
const SKEW = 16;

const up = (a: number, b: number): number => Math.ceil(a / b) * b;

/**
 * Whether winogradFilterGrad3x3 computes this filter gradient (`info`: the forward
 * convolution): 3x3 filter, stride 1, dilation 1, NHWC, 'same' or 'valid', a non-empty output.
 */
export function winogradFilterGradApplies(info: tf.backend_util.Conv2DInfo): boolean {
  return winogradApplies(info, 1); // the forward's shapes, from one input channel
}

/**
 * The tile a filter gradient `info` uses by default: F(4x4, 3x3) where the forward's rule
 * (winogradTile) picks it for the pixels and positions, at any channel count: here the
 * channels are not the GEMMs' reduction (the tiles are), and its float32 error stays at
 * ~1.4e-5 of the gradient's scale from 3 to 512 input channels (F(2x2): ~2e-6; measured
 * against the cpu backend at batch 64, docs/wasm-kernels.md).
 */
export function winogradFilterGradTile(info: tf.backend_util.Conv2DInfo): WinogradTile {
  return winogradTile(info, Infinity);
}

/**
 * The filter gradient dW ([3, 3, C, K]) of the convolution `info` (x [N, H, W, C] to dy
 * [N, OH, OW, K], see winogradFilterGradApplies) with m x m output tiles (`tile`, by default
 * winogradFilterGradTile); null where that does not hold or the SIMD module cannot run.
 */
export function winogradFilterGrad3x3(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  tile?: WinogradTile,
): tf.TensorInfo | null {
  if (!winogradFilterGradApplies(info)) return null;
  const simd = simdKernelsFor(backend);
  if (simd === null) return null;
  const m = tile ?? winogradFilterGradTile(info);
  if (m !== 2 && m !== 4) throw new Error(`winogradFilterGrad3x3: tile must be 2 or 4, got ${m}`);
  const positions = (m + 2) * (m + 2);
  const { batchSize: n, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: k } = info;
  const th = Math.ceil(oh / m);
  const tw = Math.ceil(ow / m);
  const wp = m * tw + 2;
  const cp = up(c, 4);
  const kp = up(k, 8);
  const k4 = up(k, 4);
  const tiles = n * th * tw;
  const blockTiles = Math.max(
    1,
    Math.min(512, Math.floor(BLOCK_BYTES / (4 * positions * (cp + kp)))),
  );
  // dy read in place where every tile lies inside it and its pixels are whole vectors.
  const direct = oh % m === 0 && ow % m === 0 && k4 === k;

  const src = inputSource(backend, x, info, wp, cp, m);
  const dyp = direct ? dy : backend.makeOutput([n * m * th * m * tw * k4], 'float32');
  // Positions of V and W a cache line more than a power of two apart (see winograd.ts).
  const posV = blockTiles * cp + SKEW;
  const posW = blockTiles * kp + SKEW;
  const v = backend.makeOutput([positions * posV], 'float32');
  const w = backend.makeOutput([positions * posW], 'float32');
  const s = backend.makeOutput([positions * cp * kp], 'float32');
  const out = backend.makeOutput([3, 3, c, k], 'float32');
  const outp = k4 === k ? out : backend.makeOutput([9 * c * k4], 'float32');
  // Views after every makeOutput (a heap growth detaches older ones).
  if (!direct) fillDyFrame(heapF32(backend, dy), heapF32(backend, dyp), info, m, th, tw, k4);
  heapF32(backend, w).fill(0); // output channels k4..kp: never written, stay zero
  heapF32(backend, s).fill(0);

  const dyAddr = addressOf(backend, dyp);
  const vAddr = addressOf(backend, v);
  const wAddr = addressOf(backend, w);
  const sAddr = addressOf(backend, s);
  const dyPix = k4 * 4;
  const dyRow = m * tw * dyPix;
  const winoIn = m === 2 ? simd.wino_in : simd.wino4_in;
  const winoDy = m === 2 ? simd.wino_dy : simd.wino4_dy;
  for (let t0 = 0; t0 < tiles; t0 += blockTiles) {
    const cnt = Math.min(blockTiles, tiles - t0);
    transformInput(winoIn, src, vAddr, t0, cnt, tw, th, posV * 4);
    winoDy(dyAddr, wAddr, t0, cnt, tw, th, k4 / 4, dyPix, dyRow, m * th * dyRow, posW * 4, kp * 4);
    simd.wino_fgemm(
      vAddr,
      wAddr,
      sAddr,
      cnt,
      cp / 4,
      kp / 8,
      posV * 4,
      posW * 4,
      cp * kp * 4,
      cp * 4,
      kp * 4,
      positions,
    );
  }
  // dW = G^T S G over whole vectors of output channels, cropped from k4 to k where they differ.
  (m === 2 ? simd.wino_back : simd.wino4_back)(
    sAddr,
    addressOf(backend, outp),
    c,
    k4 / 4,
    kp * 4,
    cp * kp * 4,
    k4 * 4,
    c * k4 * 4,
  );
  if (outp !== out) {
    const pv = heapF32(backend, outp);
    const ov = heapF32(backend, out);
    for (let row = 0; row < 9 * c; row++) ov.set(pv.subarray(row * k4, row * k4 + k), row * k);
    disposeIntermediate(backend, outp);
  }
  for (const t of [v, w, s]) disposeIntermediate(backend, t);
  disposeSource(backend, src);
  if (dyp !== dy) disposeIntermediate(backend, dyp);
  return out;
}

/** dy ([n, oh, ow, k]) into the zero frame dyp ([n, m th, m tw, k4]): whole m x m tiles. */
function fillDyFrame(
  dv: Float32Array,
  pv: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  m: number,
  th: number,
  tw: number,
  k4: number,
): void {
  const { batchSize: n, outHeight: oh, outWidth: ow, outChannels: k } = info;
  pv.fill(0);
  for (let img = 0; img < n; img++) {
    for (let r = 0; r < oh; r++) {
      let src = (img * oh + r) * ow * k;
      const dst = (img * m * th + r) * m * tw * k4;
      if (k4 === k) {
        pv.set(dv.subarray(src, src + ow * k), dst);
        continue;
      }
      for (let q = 0; q < ow; q++) {
        const at = dst + q * k4;
        for (let ch = 0; ch < k; ch++) pv[at + ch] = dv[src++];
      }
    }
  }
}
