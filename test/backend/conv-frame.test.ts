// copyIntoFrame (src/backend/wasm/kernel-utils.ts): x into the frame a convolution reads, zero
// where the frame lies outside x, against a per-element rule, on frames that pad on every side,
// only bottom/right (stride-2 'same'), crop x (negative offsets) and miss x entirely. The frame
// starts dirty (NaN), so a value the copy forgets to zero shows. Separate arrays (set per row),
// two views of one buffer, as the kernels pass the wasm heap (copyWithin per row), and the
// SIMD module's `frame` on the wasm backend's heap (what the kernels run there).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BackendWasm,
  copyIntoFrame,
  type ConvFrame,
  heapF32,
} from '../../src/backend/wasm/kernel-utils.js';
import { simdKernelsFor } from '../../src/backend/wasm/simd/index.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

function reference(x: Float32Array, [n, h, w, c]: number[], f: ConvFrame): Float32Array {
  const out = new Float32Array(n * f.hp * f.wp * c);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < f.hp; r++)
      for (let q = 0; q < f.wp; q++)
        for (let ch = 0; ch < c; ch++) {
          const y = r - f.top;
          const xx = q - f.left;
          const inside = y >= 0 && y < h && xx >= 0 && xx < w;
          out[((b * f.hp + r) * f.wp + q) * c + ch] = inside
            ? x[((b * h + y) * w + xx) * c + ch]
            : 0;
        }
  return out;
}

const CASES: [number[], ConvFrame][] = [
  [[2, 5, 4, 3], { top: 1, left: 1, hp: 7, wp: 6 }], // 'same' 3x3
  [[2, 6, 6, 2], { top: 0, left: 0, hp: 7, wp: 7 }], // stride-2 'same': one row and column more
  [[1, 5, 5, 1], { top: 2, left: 0, hp: 9, wp: 5 }],
  [[3, 6, 7, 4], { top: -1, left: -2, hp: 4, wp: 3 }], // x cropped on every side
  [[1, 4, 4, 2], { top: 0, left: 0, hp: 3, wp: 4 }], // the frame ends inside x
  [[2, 3, 3, 1], { top: 5, left: 0, hp: 4, wp: 3 }], // the frame misses x: all zero
  [[1, 2, 3, 5], { top: 1, left: 4, hp: 4, wp: 9 }],
  // rows of 256+ floats: only the margins zeroed
  [[2, 5, 6, 64], { top: 1, left: 1, hp: 7, wp: 8 }],
  [[2, 6, 6, 64], { top: 0, left: 0, hp: 7, wp: 7 }],
  [[1, 4, 5, 64], { top: -1, left: -1, hp: 3, wp: 5 }],
  // ResNet-20's stem (3 channels: rows of 408 bytes, not whole vectors) and stride-2 layers
  [[2, 32, 32, 3], { top: 1, left: 1, hp: 34, wp: 34 }],
  [[2, 32, 32, 16], { top: 0, left: 0, hp: 33, wp: 33 }],
  [[2, 5, 7, 5], { top: 3, left: 2, hp: 9, wp: 11 }],
];

describe('copyIntoFrame', () => {
  for (const [shape, f] of CASES) {
    it(`x ${shape.join('x')} into frame ${JSON.stringify(f)}`, () => {
      const [n, h, w, c] = shape;
      const x = Float32Array.from({ length: n * h * w * c }, (_, i) => i + 1);
      const pv = new Float32Array(n * f.hp * f.wp * c).fill(NaN);
      const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [1, 1, c, 1], 1, 1, 'valid');
      copyIntoFrame(x, pv, info, f);
      expect(Array.from(pv)).toEqual(Array.from(reference(x, shape, f)));
    });

    it(`x ${shape.join('x')} into frame ${JSON.stringify(f)}, both views of one heap`, () => {
      // as the kernels call it: x and the frame at offsets in one buffer (copyWithin rows)
      const [n, h, w, c] = shape;
      const size = n * h * w * c;
      const frameSize = n * f.hp * f.wp * c;
      const heap = new Float32Array(3 + size + 5 + frameSize + 2).fill(NaN);
      const x = heap.subarray(3, 3 + size);
      x.forEach((_, i) => (x[i] = i + 1));
      const pv = heap.subarray(3 + size + 5, 3 + size + 5 + frameSize);
      const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [1, 1, c, 1], 1, 1, 'valid');
      copyIntoFrame(x, pv, info, f);
      expect(Array.from(pv)).toEqual(Array.from(reference(x, shape, f)));
      // nothing outside the frame and x was touched
      expect(Array.from(heap.subarray(3 + size, 3 + size + 5)).every(Number.isNaN)).toBe(true);
      expect(Array.from(heap.subarray(3 + size + 5 + frameSize)).every(Number.isNaN)).toBe(true);
    });

    it(`x ${shape.join('x')} into frame ${JSON.stringify(f)}, the SIMD module on the wasm heap`, () => {
      const [n, h, w, c] = shape;
      const backend = tf.backend() as BackendWasm;
      const simd = simdKernelsFor(backend);
      expect(simd).not.toBeNull();
      const frameSize = n * f.hp * f.wp * c;
      const xs = Float32Array.from({ length: n * h * w * c }, (_, i) => i + 1);
      const x = tf.tensor1d(xs);
      // the frame with a guard of 4 floats each side, all NaN: what the copy must not touch
      const buf = tf.fill([frameSize + 8], NaN);
      const heapAll = heapF32(backend, buf);
      const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [1, 1, c, 1], 1, 1, 'valid');
      copyIntoFrame(heapF32(backend, x), heapAll.subarray(4, 4 + frameSize), info, f, simd);
      const got = heapF32(backend, buf);
      expect(Array.from(got.subarray(4, 4 + frameSize))).toEqual(
        Array.from(reference(xs, shape, f)),
      );
      expect(Array.from(got.subarray(0, 4)).every(Number.isNaN)).toBe(true);
      expect(Array.from(got.subarray(4 + frameSize)).every(Number.isNaN)).toBe(true);
      tf.dispose([x, buf]);
    });
  }
});
