// A faster Tile for the wasm backend.
//
// Training batch normalization calls tile() in its gradient (tfjs-core's FusedBatchNorm
// gradient tiles the [1, 1, 1, C] inverse standard deviation to the whole [N, H, W, C]
// activation). The stock wasm kernel computes an index per output element: about 50 ms
// per call on a ResNet-20 activation, 1.1 s of a 1.7 s training step. Here the output is
// filled by block copies: each dimension copies the already-filled block `reps` times,
// doubling with copyWithin, so the cost is close to one memcpy of the output.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel-utils.js';

type Heap = Float32Array | Int32Array | Uint8Array;

/** Builds the replacement kernel; `stock` is the backend's own kernel, used as fallback. */
export function makeTile(stock: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { reps } = (args.attrs ?? {}) as unknown as tf.TileAttrs;
    if (
      !(x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool') ||
      reps.length !== x.shape.length
    ) {
      return stock(args as Parameters<tf.KernelFunc>[0]);
    }
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = backend.makeOutput(outShape, x.dtype);
    if (tf.util.sizeFromShape(outShape) > 0) {
      tileInto(
        backend.typedArrayFromHeap(x) as Heap,
        backend.typedArrayFromHeap(out) as Heap,
        x.shape,
        reps,
      );
    }
    return out;
  };
  return kernelFunc as tf.KernelFunc;
}

/** Writes tile(x, reps) into out (both row-major, out already sized). */
export function tileInto(xv: Heap, ov: Heap, shape: number[], reps: number[]): void {
  const rank = shape.length;
  if (rank === 0) {
    ov[0] = xv[0];
    return;
  }
  // inSize[d] / outSize[d]: elements in one slice of dimensions d.. of x / of out.
  const inSize = new Array<number>(rank + 1).fill(1);
  const outSize = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) {
    inSize[d] = inSize[d + 1] * shape[d];
    outSize[d] = outSize[d + 1] * shape[d] * reps[d];
  }
  const fill = (d: number, inOffset: number, outOffset: number): void => {
    if (d === rank - 1) {
      ov.set(xv.subarray(inOffset, inOffset + shape[d]), outOffset);
    } else {
      for (let i = 0; i < shape[d]; i++) {
        fill(d + 1, inOffset + i * inSize[d + 1], outOffset + i * outSize[d + 1]);
      }
    }
    // The first copy of this dimension's block is in place; repeat it reps[d] times.
    const block = shape[d] * outSize[d + 1];
    const total = block * reps[d];
    for (let done = block; done < total;) {
      const len = Math.min(done, total - done);
      ov.copyWithin(outOffset + done, outOffset, outOffset + len);
      done += len;
    }
  };
  fill(0, 0, 0);
}
