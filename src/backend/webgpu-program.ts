/**
 * What parq-ts's WGSL kernels use of tfjs-backend-webgpu: the backend's program runner (it
 * compiles `getUserCode()` into a shader with tfjs's bindings and uniforms, and dispatches it)
 * and the disposal of an intermediate result.
 */
import type * as tf from '@tensorflow/tfjs';

/** A uniform a program takes after tfjs's own, in declaration order. */
export type ProgramUniform = { type: 'int32' | 'float32'; data: number[] };

export interface WebGPUBackendLike {
  runWebGPUProgram(
    program: object,
    inputs: tf.TensorInfo[],
    dtype: 'float32',
    uniforms: ProgramUniform[],
  ): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}
