// Float32 views of a kernel's tensors where the kernel computes them itself (in JavaScript or
// the SIMD modules over the heap): the cpu backend's value arrays, or the wasm backend's heap.
// One pair for every such kernel (the fused prox map, greedy LSBQ), so none of them knows how
// either backend stores a tensor.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from './wasm/kernel-utils.js';
import { addressOf } from './wasm/simd/index.js';

/** A tensor's values as float32, in place (no copy). */
export type ReadF32 = (t: tf.TensorInfo) => Float32Array;

/**
 * A new float32 output of `shape` and its values. Take `values()` after the kernel's last
 * allocation: on wasm an allocation may grow the heap, which detaches earlier views.
 */
export type MakeF32 = (shape: number[]) => { info: tf.TensorInfo; values: () => Float32Array };

/**
 * A tensor's byte address in the wasm heap (for a SIMD module over that heap: no view to
 * allocate); null on cpu, where values live in their own arrays.
 */
export type AddressOf = ((t: tf.TensorInfo) => number) | null;

/** What a host kernel gets to reach its tensors' values on one backend. */
export interface HostArrays {
  read: ReadF32;
  make: MakeF32;
  address: AddressOf;
}

/** The read and make of `backendName` ('cpu' or 'wasm') for the kernel's `backend`. */
function hostArrays(backendName: 'cpu' | 'wasm', backend: unknown): HostArrays {
  const b = backend as any;
  if (backendName === 'cpu') {
    return {
      read: (t) => b.data.get(t.dataId).values as Float32Array,
      make: (shape) => {
        const values = new Float32Array(shape.reduce((p, d) => p * d, 1));
        return { info: b.makeTensorInfo(shape, 'float32', values), values: () => values };
      },
      address: null,
    };
  }
  return {
    read: (t) => b.typedArrayFromHeap(t) as Float32Array,
    make: (shape) => {
      const info = b.makeOutput(shape, 'float32');
      return { info, values: () => b.typedArrayFromHeap(info) as Float32Array };
    },
    address: (t) => addressOf(b as BackendWasm, t),
  };
}

type HostKernelFunc = (args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }) => unknown;

/**
 * Registers `kernelName` for cpu and wasm (no-op where registered): `body` gets the backend's
 * read, make and address, its name and the backend itself, and returns the kernel's function
 * of its inputs and attributes. `body` runs once per backend object (the function is kept:
 * a training step calls these kernels on every weight tensor).
 */
export function registerHostKernel(
  kernelName: string,
  body: (arrays: HostArrays, backendName: 'cpu' | 'wasm', backend: unknown) => HostKernelFunc,
): void {
  for (const backendName of ['cpu', 'wasm'] as const) {
    if (tf.getKernel(kernelName, backendName)) continue;
    const made = new WeakMap<object, HostKernelFunc>();
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ((args: {
        inputs: tf.NamedTensorInfoMap;
        attrs?: tf.NamedAttrMap;
        backend: object;
      }) => {
        let f = made.get(args.backend);
        if (!f) {
          f = body(hostArrays(backendName, args.backend), backendName, args.backend);
          made.set(args.backend, f);
        }
        return f(args);
      }) as unknown as tf.KernelFunc,
    });
  }
}
