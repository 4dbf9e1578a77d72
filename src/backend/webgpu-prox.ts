/**
 * The fused prox kernel `ParqProxMap` (src/prox/fused-kernel.ts) for the
 * webgpu backend: one WGSL compute pass, one thread a weight, that finds the
 * weight's interval among its group's levels and applies the map.
 *
 * Without it, webgpu runs the composed ops: about a dozen kernel launches a
 * map, two of them over a `[A, M, k, C]` broadcast compare. The arithmetic
 * follows `proxLoop` (the cpu/wasm kernel) step for step in float32.
 *
 * tfjs-backend-webgpu builds the shader around `getUserCode()`: bindings `X`
 * (the view `[A, M, C]`) and `L` (levels `[A, k, C]`), `uniforms` (our fields
 * after its own), `setOutputAtIndex`, and a `main(index)` called once a thread.
 */
import * as tf from '@tensorflow/tfjs';
import type { ProgramUniform, WebGPUBackendLike } from './webgpu-program.js';
import { PROX_KERNEL } from '../prox/fused-kernel.js';
import { PROX_MODES } from '../prox/kernel-modes.js';

/** What this file uses of tfjs-backend-webgpu's public `webgpu_util`. */
export interface WebGPUUtil {
  flatDispatchLayout(shape: number[]): { x: number[] };
  computeDispatch(
    layout: { x: number[] },
    outputShape: number[],
    workgroupSize: [number, number, number],
  ): [number, number, number];
}

export const WORKGROUP: [number, number, number] = [64, 1, 1];

/**
 * The map of one weight `v` at flat `index` of the view, as WGSL: `level` (level j of the
 * thread's group; `base` = a * k * C + c) and `proxOf`, over binding `L` and the uniforms
 * `mode, k, m, c, param, keep, norm` (PROX_UNIFORMS). The fused step's program
 * (webgpu-fused-step.ts) calls it on the weights it has just updated.
 */
export const PROX_WGSL = `
  fn level(base : i32, j : i32) -> f32 {
    return L[base + j * uniforms.c];
  }

  fn sigmoid1(x : f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
  }

  fn proxOf(v : f32, index : i32) -> f32 {
    let k = uniforms.k;
    let c = index % uniforms.c;
    let a = index / (uniforms.m * uniforms.c);
    let base = a * k * uniforms.c + c;
    let p = uniforms.param;
    var out : f32;
    if (uniforms.mode == ${PROX_MODES.hard} || uniforms.mode == ${PROX_MODES.relax}) {
      // nearest level: ties (v on a midpoint) go to the lower one
      var j = 0;
      loop {
        if (j >= k - 1) { break; }
        let mid = (level(base, j) + level(base, j + 1)) * 0.5;
        if (!(v > mid)) { break; }
        j = j + 1;
      }
      let hard = level(base, j);
      if (uniforms.mode == ${PROX_MODES.hard}) {
        out = hard;
      } else {
        out = v * uniforms.keep + hard * p;
      }
    } else {
      // the levels bracketing v: idx = levels strictly below v
      var idx = 0;
      loop {
        if (idx >= k) { break; }
        if (!(level(base, idx) < v)) { break; }
        idx = idx + 1;
      }
      let lo = level(base, max(idx - 1, 0));
      let up = level(base, min(idx, k - 1));
      let center = (lo + up) * 0.5;
      if (uniforms.mode == ${PROX_MODES.parq}) {
        let moved = center + (v - center) / p;
        out = select(select(moved, up, moved > up), lo, moved < lo);
      } else {
        let clamped = select(select(v, up, v > up), lo, v < lo);
        let width = up - lo;
        let frac = (clamped - lo) / (width + 1e-12);
        let sx = sigmoid1((frac - 0.5) * p);
        let norm = (sx - 0.5) / uniforms.norm;
        out = center + (width * 0.5) * norm;
      }
    }
    return out;
  }
`;

const USER_CODE = `${PROX_WGSL}
  fn main(index : i32) {
    if (index >= uniforms.size) {
      return;
    }
    setOutputAtIndex(index, proxOf(X[index], index));
  }
`;

/** The uniforms PROX_WGSL reads, as a program declares them (after tfjs's own). */
export const PROX_UNIFORMS =
  'mode : i32, k : i32, m : i32, c : i32, param : f32, keep : f32, norm : f32,';

/** Their values for a map of `mode` (PROX_MODES) with `param` on a view [A, M, C] with k levels. */
export function proxUniformValues(
  mode: number,
  param: number,
  m: number,
  c: number,
  k: number,
): ProgramUniform[] {
  const f32 = Math.fround;
  const s2 = mode === PROX_MODES.soft ? 1 / (1 + Math.exp(-0.5 * param)) : 0.5;
  return [
    { type: 'int32', data: [mode] },
    { type: 'int32', data: [k] },
    { type: 'int32', data: [m] },
    { type: 'int32', data: [c] },
    { type: 'float32', data: [param] },
    { type: 'float32', data: [f32(1 - param)] },
    { type: 'float32', data: [f32(s2 - 0.5)] },
  ];
}

/** The program object tfjs-backend-webgpu compiles and dispatches (see its WebGPUProgram). */
class ProxProgram {
  readonly variableNames = ['X', 'L'];
  readonly uniforms = PROX_UNIFORMS;
  readonly workgroupSize = WORKGROUP;
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  shaderKey = 'parqProxMap';

  constructor(util: WebGPUUtil, shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = util.flatDispatchLayout(shape);
    this.dispatch = util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
  }

  getUserCode(): string {
    return USER_CODE;
  }
}

/**
 * Register `ParqProxMap` for webgpu, given the loaded tfjs-backend-webgpu
 * module (no-op where registered, or where the module lacks `webgpu_util`).
 */
export function registerWebGPUProxKernel(webgpuModule: Record<string, unknown>): boolean {
  if (tf.getKernel(PROX_KERNEL, 'webgpu')) return true;
  const util = webgpuModule.webgpu_util as WebGPUUtil | undefined;
  if (!util?.flatDispatchLayout || !util.computeDispatch) return false;
  tf.registerKernel({
    kernelName: PROX_KERNEL,
    backendName: 'webgpu',
    kernelFunc: (({ inputs, backend, attrs }: any) => {
      const { x, levels } = inputs as { x: tf.TensorInfo; levels: tf.TensorInfo };
      const { mode, param } = attrs as { mode: number; param: number };
      const [, m, c] = x.shape;
      const program = new ProxProgram(util, x.shape);
      return (backend as WebGPUBackendLike).runWebGPUProgram(
        program,
        [x, levels],
        'float32',
        proxUniformValues(mode, param, m, c, levels.shape[1]),
      );
    }) as tf.KernelFunc,
  });
  return true;
}
