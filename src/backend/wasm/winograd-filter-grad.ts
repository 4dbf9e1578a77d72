// The Winograd F(2x2, 3x3) filter gradient (Conv2DBackpropFilter) for the wasm backend:
// NHWC float32, a 3x3 filter, stride 1, dilation 1, 'same' or 'valid' padding. The forward
// (winograd.ts) is Y_tile = A^T [ sum over c of (G g_c G^T) * (B^T d_c B) ] A, linear in g,
// so its transpose gives, summed over every 2x2 output tile of every image,
//   dW[:, :, c, k] = G^T [ sum over tiles of V_c * W_k ] G,   V = B^T d B,  W = A dY A^T
// (* elementwise; d the tile's 4x4 input patch, zero-padded as the forward pads; dY the tile's
// 2x2 block of dy, zero where the tile runs past the output). The bracket is 16 GEMMs
// S[pos][c][k] = sum over tiles of V[pos][tile][c] * W[pos][tile][k], with the tiles as the
// reduction axis: 16 multiplies a tile and channel pair where the direct filter gradient
// (fg_* in simd/kernels.wat) does 36, 2.25x fewer; the transforms are O(C) and O(K) a tile.
//
// Per call: x copied once into the forward's zero frame (fillFrame), dy into a whole-tile
// frame only where its size is odd or its channels not a multiple of 4; then blocks of tiles,
// sized so a block's V and W stay in the core's L2, through wino_in (V, the forward's own
// input transform), wino_dy (W) and wino_fgemm (S += V^T W, 4 channels x 8 output channels a
// pass); finally dW = G^T S G here in JavaScript (3x3 from 4x4, once per channel pair).
import * as tf from '@tensorflow/tfjs';
import { disposeIntermediate, heapF32, type BackendWasm } from './kernel-utils.js';
import { addressOf, simdKernelsFor } from './simd/index.js';
import { fillFrame, winogradApplies } from './winograd.js';

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
 * The filter gradient dW ([3, 3, C, K]) of the convolution `info` (x [N, H, W, C] to dy
 * [N, OH, OW, K], see winogradFilterGradApplies); null where that does not hold or the SIMD
 * module cannot run.
 */
export function winogradFilterGrad3x3(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  if (!winogradFilterGradApplies(info)) return null;
  const simd = simdKernelsFor(backend);
  if (simd === null) return null;
  const { batchSize: n, inChannels: c } = info;
  const { outHeight: oh, outWidth: ow, outChannels: k } = info;
  const th = Math.ceil(oh / 2);
  const tw = Math.ceil(ow / 2);
  const hp = 2 * th + 2;
  const wp = 2 * tw + 2;
  const cp = up(c, 4);
  const kp = up(k, 8);
  const k4 = up(k, 4);
  const tiles = n * th * tw;
  const blockTiles = Math.max(1, Math.min(512, Math.floor(BLOCK_BYTES / (64 * (cp + kp)))));
  // dy read in place where every tile lies inside it and its pixels are whole vectors.
  const direct = oh % 2 === 0 && ow % 2 === 0 && k4 === k;

  const xp = backend.makeOutput([n * hp * wp * cp], 'float32');
  const dyp = direct ? dy : backend.makeOutput([n * 2 * th * 2 * tw * k4], 'float32');
  // Positions of V and W a cache line more than a power of two apart (see winograd.ts).
  const posV = blockTiles * cp + SKEW;
  const posW = blockTiles * kp + SKEW;
  const v = backend.makeOutput([16 * posV], 'float32');
  const w = backend.makeOutput([16 * posW], 'float32');
  const s = backend.makeOutput([16 * cp * kp], 'float32');
  const out = backend.makeOutput([3, 3, c, k], 'float32');
  // Views after every makeOutput (a heap growth detaches older ones).
  fillFrame(backend, simd, x, xp, info, hp, wp, cp);
  if (!direct) fillDyFrame(heapF32(backend, dy), heapF32(backend, dyp), info, th, tw, k4);
  heapF32(backend, w).fill(0); // output channels k4..kp: never written, stay zero
  heapF32(backend, s).fill(0);

  const xAddr = addressOf(backend, xp);
  const dyAddr = addressOf(backend, dyp);
  const vAddr = addressOf(backend, v);
  const wAddr = addressOf(backend, w);
  const sAddr = addressOf(backend, s);
  const xPix = cp * 4;
  const dyPix = k4 * 4;
  const dyRow = 2 * tw * dyPix;
  for (let t0 = 0; t0 < tiles; t0 += blockTiles) {
    const cnt = Math.min(blockTiles, tiles - t0);
    simd.wino_in(xAddr, vAddr, t0, cnt, tw, th, cp / 4, xPix, wp * xPix, hp * wp * xPix, posV * 4);
    simd.wino_dy(
      dyAddr,
      wAddr,
      t0,
      cnt,
      tw,
      th,
      k4 / 4,
      dyPix,
      dyRow,
      2 * th * dyRow,
      posW * 4,
      kp * 4,
    );
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
    );
  }
  transformBack(heapF32(backend, s), heapF32(backend, out), c, k, cp, kp);
  for (const t of [xp, v, w, s]) disposeIntermediate(backend, t);
  if (dyp !== dy) disposeIntermediate(backend, dyp);
  return out;
}

/** dy ([n, oh, ow, k]) into the zero frame dyp ([n, 2 th, 2 tw, k4]): whole tiles. */
function fillDyFrame(
  dv: Float32Array,
  pv: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  th: number,
  tw: number,
  k4: number,
): void {
  const { batchSize: n, outHeight: oh, outWidth: ow, outChannels: k } = info;
  pv.fill(0);
  for (let img = 0; img < n; img++) {
    for (let r = 0; r < oh; r++) {
      let src = (img * oh + r) * ow * k;
      const dst = (img * 2 * th + r) * 2 * tw * k4;
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

/**
 * dW[kh][kw][ci][o] = (G^T S G)[kh][kw] for S = sv[pos][ci][o] ([16][cp][kp]), G = [1 0 0;
 * 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] (the forward's filter transform, transposed).
 */
function transformBack(
  sv: Float32Array,
  dw: Float32Array,
  c: number,
  k: number,
  cp: number,
  kp: number,
): void {
  const pos = cp * kp;
  const ck = c * k;
  const t = new Float64Array(12); // (G^T S)[kh][b], 3 x 4
  for (let ci = 0; ci < c; ci++) {
    for (let o = 0; o < k; o++) {
      const at = ci * kp + o;
      for (let b = 0; b < 4; b++) {
        const s0 = sv[at + b * pos];
        const s1 = sv[at + (4 + b) * pos];
        const s2 = sv[at + (8 + b) * pos];
        const s3 = sv[at + (12 + b) * pos];
        t[b] = s0 + (s1 + s2) / 2;
        t[4 + b] = (s1 - s2) / 2;
        t[8 + b] = (s1 + s2) / 2 + s3;
      }
      const d = ci * k + o;
      for (let kh = 0; kh < 3; kh++) {
        const r0 = t[4 * kh];
        const r1 = t[4 * kh + 1];
        const r2 = t[4 * kh + 2];
        const r3 = t[4 * kh + 3];
        dw[d + 3 * kh * ck] = r0 + (r1 + r2) / 2;
        dw[d + (3 * kh + 1) * ck] = (r1 - r2) / 2;
        dw[d + (3 * kh + 2) * ck] = (r1 + r2) / 2 + r3;
      }
    }
  }
}
