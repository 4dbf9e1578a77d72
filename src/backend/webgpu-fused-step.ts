/**
 * The fused QAT step `ParqFusedStep` (src/optim/fused-step.ts) for the webgpu backend: the
 * base optimizer's update of a quantized variable (tfjs's SGD, momentum, Nesterov or Adam,
 * with ADMM-Q's augmented gradient where given) and the prox map of the result, as WGSL.
 *
 * A tfjs-backend-webgpu program writes one output, so the kernel runs one program per output
 * (the new state, the new latent weights, the mapped weights), each recomputing the update of
 * its weight from the inputs: two to four dispatches where the composed step takes five
 * (momentum and a map) to fifteen (Adam and a map), each an elementwise pass. The arithmetic
 * is the composed ops' in their order; a GPU compiler may contract a multiply and an add into
 * one rounding, so the values agree with the cpu kernel within float32 rounding (tested),
 * not bit for bit. ADMM-Q's augmented gradient is a program of its own first: with it inline,
 * Adam's program would bind nine storage buffers, one more than WebGPU's default limit (8 a
 * shader stage), and an invalid pipeline spoils the whole command buffer it is recorded in.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackendLike } from './webgpu-program.js';
import { PROX_UNIFORMS, PROX_WGSL, proxUniformValues, WORKGROUP } from './webgpu-prox.js';
import type { WebGPUUtil } from './webgpu-prox.js';
import { FUSED_STEP_KERNEL } from '../optim/fused-step.js';

type Output = 'a' | 'a2' | 'x' | 'mapped';

/** The update of weight `index` to `x1` (and the state `na` / `nm`, `nv`), as WGSL lines. */
function updateCode(kind: number): string {
  switch (kind) {
    case 0:
      return 'let x1 = SC[0] * g + X[index];';
    case 1:
      return 'let na = SM[0] * A[index] + g;\n    let x1 = SC[0] * na + X[index];';
    case 2:
      return 'let na = SM[0] * A[index] + g;\n    let x1 = SC[0] * (g + na * SM[0]) + X[index];';
    default:
      return [
        'let na = A[index] * uniforms.b1 + g * uniforms.ob1;',
        'let nv = A2[index] * uniforms.b2 + (g * g) * uniforms.ob2;',
        'let x1 = ((na / S1[0]) / (sqrt(nv / S2[0]) + uniforms.eps)) * uniforms.nlr + X[index];',
      ].join('\n    ');
  }
}

const VALUE: Record<Output, string> = { a: 'na', a2: 'nv', x: 'x1', mapped: 'proxOf(x1, index)' };

/** The program tfjs-backend-webgpu compiles and dispatches for one output. */
/** ADMM-Q's gradient `(g + lam) + (x - z)*rho` of every weight. */
class AugmentProgram {
  readonly variableNames = ['G', 'LAM', 'X', 'Z'];
  readonly uniforms = 'rho : f32,';
  readonly workgroupSize = WORKGROUP;
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly shaderKey = 'parqFusedStepAugment';

  constructor(util: WebGPUUtil, shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = util.flatDispatchLayout(shape);
    this.dispatch = util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index >= uniforms.size) {
      return;
    }
    setOutputAtIndex(index, (G[index] + LAM[index]) + (X[index] - Z[index]) * uniforms.rho);
  }
`;
  }
}

class FusedStepProgram {
  readonly variableNames: string[];
  readonly uniforms = `${PROX_UNIFORMS} b1 : f32, ob1 : f32, b2 : f32, ob2 : f32, eps : f32, nlr : f32,`;
  readonly workgroupSize = WORKGROUP;
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    util: WebGPUUtil,
    shape: number[],
    private readonly kind: number,
    private readonly output: Output,
  ) {
    this.outputShape = shape;
    this.dispatchLayout = util.flatDispatchLayout(shape);
    this.dispatch = util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
    this.variableNames = [
      'X',
      'G',
      ...(kind === 0 ? [] : ['A']),
      ...(kind === 3 ? ['A2', 'S1', 'S2'] : kind === 0 ? ['SC'] : ['SM', 'SC']),
      ...(output === 'mapped' ? ['L'] : []),
    ];
    this.shaderKey = `parqFusedStep_${kind}_${output}`;
  }

  getUserCode(): string {
    return `${this.output === 'mapped' ? PROX_WGSL : ''}
  fn main(index : i32) {
    if (index >= uniforms.size) {
      return;
    }
    let g = G[index];
    ${updateCode(this.kind)}
    setOutputAtIndex(index, ${VALUE[this.output]});
  }
`;
  }
}

/**
 * Register `ParqFusedStep` for webgpu, given the loaded tfjs-backend-webgpu module (no-op
 * where registered, or where the module lacks `webgpu_util`).
 */
export function registerWebGPUFusedStep(webgpuModule: Record<string, unknown>): boolean {
  if (tf.getKernel(FUSED_STEP_KERNEL, 'webgpu')) return true;
  const util = webgpuModule.webgpu_util as WebGPUUtil | undefined;
  if (!util?.flatDispatchLayout || !util.computeDispatch) return false;
  tf.registerKernel({
    kernelName: FUSED_STEP_KERNEL,
    backendName: 'webgpu',
    kernelFunc: (({ inputs, backend, attrs }: any) => {
      const ins = inputs as Record<string, tf.TensorInfo | undefined>;
      const { kind, mode, param, view, rho, b1, ob1, b2, ob2, eps, nlr } = attrs as Record<
        string,
        any
      >;
      const x = ins.x as tf.TensorInfo;
      const gpu = backend as WebGPUBackendLike;
      const augmented = ins.lam !== undefined && ins.z !== undefined;
      const g = augmented
        ? gpu.runWebGPUProgram(
            new AugmentProgram(util, x.shape),
            [ins.g, ins.lam, x, ins.z] as tf.TensorInfo[],
            'float32',
            [{ type: 'float32', data: [rho] }],
          )
        : (ins.g as tf.TensorInfo);
      const mapped = mode >= 0 && ins.levels !== undefined;
      const byName: Record<string, tf.TensorInfo | undefined> = {
        X: x,
        G: g,
        A: ins.a,
        A2: ins.a2,
        S1: ins.s1,
        S2: ins.s2,
        SM: ins.m,
        SC: ins.c,
        L: ins.levels,
      };
      const [, m, c] = view as number[];
      const k = mapped ? (ins.levels as tf.TensorInfo).shape[1] : 1;
      const uniforms = [
        ...proxUniformValues(mapped ? mode : 0, mapped ? param : 0, m, c, k),
        ...[b1, ob1, b2, ob2, eps, nlr].map((v) => ({
          type: 'float32' as const,
          data: [typeof v === 'number' ? v : 0],
        })),
      ];
      const outputs: Output[] = [
        'x',
        ...(kind === 0 ? [] : (['a'] as Output[])),
        ...(kind === 3 ? (['a2'] as Output[]) : []),
        ...(mapped ? (['mapped'] as Output[]) : []),
      ];
      const results = outputs.map((output) => {
        const program = new FusedStepProgram(util, x.shape, kind, output);
        const bound = program.variableNames.map((n) => byName[n] as tf.TensorInfo);
        return gpu.runWebGPUProgram(program, bound, 'float32', uniforms);
      });
      if (augmented) gpu.disposeData(g.dataId);
      return results;
    }) as tf.KernelFunc,
  });
  return true;
}
