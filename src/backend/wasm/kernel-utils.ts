// Helpers shared by the wasm training kernels in this folder.
//
// The kernels here run inside the wasm backend: their inputs live in the backend's
// WebAssembly memory, they allocate outputs with `backend.makeOutput`, and they either
// call the backend's own compiled kernels (XNNPACK convolutions and matrix products)
// or loop over Float32Array views of the wasm heap. They never read tensors back to
// JavaScript arrays (no dataSync) and never touch the cpu backend.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { SimdKernels } from './simd/index.js';

export type { BackendWasm };

/** The backend name every kernel in this folder is registered for. */
export const WASM = 'wasm';

/** Calls another kernel registered for the wasm backend, without going through the engine. */
export function callWasmKernel(
  name: string,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(name, WASM);
  if (kernel == null) {
    throw new Error(`parq-ts: the wasm backend has no '${name}' kernel`);
  }
  return kernel.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

/** Releases an intermediate result made inside a kernel (not the kernel's output). */
export function disposeIntermediate(backend: BackendWasm, info: tf.TensorInfo): void {
  backend.disposeData(info.dataId);
}

/**
 * A Float32Array view of a float32 tensor in the wasm heap. Make every output first
 * (`makeOutput` may grow the heap, which detaches older views), then take the views.
 */
export function heapF32(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Throws unless every tensor is float32 (what the compiled wasm kernels accept). */
export function assertFloat32(kernelName: string, infos: Record<string, tf.TensorInfo>): void {
  for (const [name, info] of Object.entries(infos)) {
    if (info.dtype !== 'float32') {
      throw new Error(`${kernelName} on wasm: '${name}' must be float32, got ${info.dtype}`);
    }
  }
}

/** Transposes an NCHW tensor to NHWC (or back with perm [0, 3, 1, 2]). */
export function transpose4(
  backend: BackendWasm,
  x: tf.TensorInfo,
  perm: [number, number, number, number],
): tf.TensorInfo {
  return callWasmKernel('Transpose', backend, { x }, { perm });
}

/**
 * The frame of x a 2-D convolution reads: `hp` x `wp` pixels ((out - 1) * stride + filter),
 * starting `top` rows and `left` columns before x's first pixel (the padding).
 */
export interface ConvFrame {
  top: number;
  left: number;
  hp: number;
  wp: number;
}

export function convFrame(info: tf.backend_util.Conv2DInfo): ConvFrame {
  return {
    top: info.padInfo.top,
    left: info.padInfo.left,
    hp: (info.outHeight - 1) * info.strideHeight + info.filterHeight,
    wp: (info.outWidth - 1) * info.strideWidth + info.filterWidth,
  };
}

/** Floats a frame row needs for copyIntoFrame to zero only its margins (else all of it first). */
const FRAME_ROW_MARGIN_FLOATS = 256;

/**
 * Copies channels-last x ([n, h, w, c] of `info`) into `pv` ([n, hp, wp, c], the frame),
 * zero where the frame lies outside x; what of x lies outside the frame is left out. Only
 * what x does not cover is zeroed (the frame of a stride-2 'same' convolution is x plus one
 * row and column: zeroing all of it first doubled the memory traffic). With `simd` and both
 * views on its heap, one call of the module's `frame` (rows as SIMD loops: the builtin
 * copyWithin and fill calls a row cost more than their bytes on ResNet-20's rows).
 */
export function copyIntoFrame(
  xv: Float32Array,
  pv: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  { top, left, hp, wp }: ConvFrame,
  simd: SimdKernels | null = null,
): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const c0 = Math.max(0, -left);
  const c1 = Math.min(w, wp - left);
  const r0 = Math.max(0, -top);
  const r1 = Math.min(h, hp - top);
  const rowF = wp * c;
  if (c1 <= c0 || r1 <= r0) {
    pv.fill(0, 0, n * hp * rowF);
    return;
  }
  const q0 = c0 + left; // the frame columns x covers: q0 .. q1
  const q1 = c1 + left;
  if (simd !== null && xv.buffer === pv.buffer) {
    const srcRowB = w * c * 4;
    simd.frame(
      xv.byteOffset + c0 * c * 4,
      pv.byteOffset,
      n,
      h,
      hp,
      top,
      rowF * 4,
      q0 * c * 4,
      (c1 - c0) * c * 4,
      srcRowB,
      h * srcRowB,
    );
    return;
  }
  // Short rows (LeNet-5's one-channel 32-pixel frame): one fill of all, then the copies; two
  // fills a row would cost more calls than the bytes they save.
  const margins = rowF >= FRAME_ROW_MARGIN_FLOATS;
  if (!margins) pv.fill(0, 0, n * hp * rowF);
  // Both views of the one wasm heap (as the kernels pass them): each row is a copyWithin on
  // a view of the whole heap, not a new subarray (LeNet-5's 28-float rows: 1,792 a call).
  const heap = xv.buffer === pv.buffer ? new Float32Array(pv.buffer) : null;
  const xAt = xv.byteOffset >> 2;
  const pAt = pv.byteOffset >> 2;
  const len = (c1 - c0) * c;
  for (let b = 0; b < n; b++) {
    const img = b * hp * rowF;
    if (margins) pv.fill(0, img, img + (r0 + top) * rowF); // rows above x
    for (let r = r0; r < r1; r++) {
      const row = img + (r + top) * rowF;
      if (margins && q0 > 0) pv.fill(0, row, row + q0 * c);
      const src = ((b * h + r) * w + c0) * c;
      if (heap) heap.copyWithin(pAt + row + q0 * c, xAt + src, xAt + src + len);
      else pv.set(xv.subarray(src, src + len), row + q0 * c);
      if (margins && q1 < wp) pv.fill(0, row + q1 * c, row + rowF);
    }
    if (margins) pv.fill(0, img + (r1 + top) * rowF, img + hp * rowF); // rows below x
  }
}
