/**
 * Conv2DBackpropFilter for the webgpu backend as a tiled, split-K implicit GEMM.
 *
 * tfjs-backend-webgpu 4.22 computes the filter gradient with one thread per filter element,
 * each summing serially over batch x out-height x out-width: for ResNet-20's first stage
 * (filter 3x3x16x16, batch 128, 32x32) that is 2,304 threads of 131,072 multiply-adds each,
 * and the GPU sits mostly idle. (Its input gradient, for channels-last, is already a tiled
 * matmul program: Conv2DDerInputMMProgram.)
 *
 * Here the gradient is the matrix product dW[m, co] = sum_k A[m, k] * dY[k, co], with
 * m = (ky, kx, ci) the filter rows, k = (n, oy, ox) the output positions and A the im2col
 * view of x, never materialized: each workgroup loads a TK x TM slice of A (gathered from x,
 * zero outside the padding) and a TK x TN slice of dY into workgroup memory and accumulates a
 * TM x TN tile, 4 x 4 outputs a thread. The reduction over k is split into S chunks, one per
 * workgroup along z, so that even a small filter keeps hundreds of workgroups busy; a second
 * pass adds the S partial tiles in a fixed order (deterministic, no atomics).
 *
 * Channels-last only (what tfjs-layers uses); other layouts go to the kernel it replaces.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackendLike } from './webgpu-program.js';

/** Reduction slice a workgroup loads per barrier pair. */
const TK = 16;
/** Threads a workgroup (each computes 4 x 4 outputs). */
const THREADS = 64;
/** Aim for about this many workgroups in the first pass (split-K picks S from it). */
const TARGET_WORKGROUPS = 512;
/** Keep the partial tiles below this many floats (64 MiB). */
const MAX_PARTIAL_FLOATS = 16 << 20;

/** Tile shapes: a wide one, and a tall one for the narrow filters of small CNNs (Co <= 16). */
export interface FilterGradTile {
  tm: number;
  tn: number;
}
const WIDE: FilterGradTile = { tm: 32, tn: 32 };
const TALL: FilterGradTile = { tm: 64, tn: 16 };

/** The plan of one call: the tile, the split of the reduction, the workgroup grid. */
export interface FilterGradPlan {
  tile: FilterGradTile;
  /** Filter rows kh * kw * Ci, output channels, reduction length N * Ho * Wo. */
  m: number;
  co: number;
  k: number;
  /** Reduction chunks (the z extent of the grid) and the TK-slices in each. */
  splits: number;
  tilesPerSplit: number;
  grid: [number, number, number];
}

/** Chooses the tile and the split of the reduction for dW [m, co] over k positions. */
export function planFilterGrad(m: number, co: number, k: number): FilterGradPlan {
  const tile = co <= 16 ? TALL : WIDE;
  const gx = Math.ceil(co / tile.tn);
  const gy = Math.ceil(m / tile.tm);
  const slices = Math.max(1, Math.ceil(k / TK));
  let splits = Math.max(1, Math.min(slices, Math.ceil(TARGET_WORKGROUPS / (gx * gy))));
  splits = Math.max(1, Math.min(splits, Math.floor(MAX_PARTIAL_FLOATS / (m * co))));
  const tilesPerSplit = Math.ceil(slices / splits);
  splits = Math.ceil(slices / tilesPerSplit); // no empty chunk at the end
  return { tile, m, co, k, splits, tilesPerSplit, grid: [gx, gy, splits] };
}

function partialsCode({ tm, tn }: FilterGradTile): string {
  const loadsA = (TK * tm) / THREADS;
  const loadsB = (TK * tn) / THREADS;
  const tx = tn / 4;
  return `
  var<workgroup> As : array<f32, ${TK * tm}>;
  var<workgroup> Bs : array<f32, ${TK * tn}>;

  // A[m, k]: x at the input position that filter row m sees from output position k.
  fn loadA(m : i32, k : i32) -> f32 {
    if (m >= uniforms.m || k >= uniforms.k) {
      return 0.0;
    }
    let ci = m % uniforms.ci;
    let t = m / uniforms.ci;
    let kx = t % uniforms.kw;
    let ky = t / uniforms.kw;
    let ox = k % uniforms.wo;
    let t2 = k / uniforms.wo;
    let oy = t2 % uniforms.ho;
    let n = t2 / uniforms.ho;
    let iy = oy * uniforms.sh - uniforms.pt + ky;
    let ix = ox * uniforms.sw - uniforms.pl + kx;
    if (iy < 0 || iy >= uniforms.h || ix < 0 || ix >= uniforms.w) {
      return 0.0;
    }
    return X[((n * uniforms.h + iy) * uniforms.w + ix) * uniforms.ci + ci];
  }

  fn loadB(k : i32, c : i32) -> f32 {
    if (k >= uniforms.k || c >= uniforms.co) {
      return 0.0;
    }
    return DY[k * uniforms.co + c];
  }

  fn main() {
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let lid = ly * ${tx} + lx;
    let col0 = i32(workgroupId.x) * ${tn};
    let row0 = i32(workgroupId.y) * ${tm};
    let kBase = i32(workgroupId.z) * uniforms.tilesPerSplit * ${TK};
    var acc : array<f32, 16>;
    for (var i = 0; i < 16; i = i + 1) {
      acc[i] = 0.0;
    }
    // uniform trip count: every workgroup runs the same slices (loads past k read zeros)
    for (var t = 0; t < uniforms.tilesPerSplit; t = t + 1) {
      let k0 = kBase + t * ${TK};
      for (var i = 0; i < ${loadsA}; i = i + 1) {
        let e = lid + i * ${THREADS};
        let kk = e / ${tm};
        let mm = e % ${tm};
        As[e] = loadA(row0 + mm, k0 + kk);
      }
      for (var i = 0; i < ${loadsB}; i = i + 1) {
        let e = lid + i * ${THREADS};
        let kk = e / ${tn};
        let nn = e % ${tn};
        Bs[e] = loadB(k0 + kk, col0 + nn);
      }
      workgroupBarrier();
      for (var kk = 0; kk < ${TK}; kk = kk + 1) {
        let a = vec4<f32>(As[kk * ${tm} + ly * 4], As[kk * ${tm} + ly * 4 + 1],
                          As[kk * ${tm} + ly * 4 + 2], As[kk * ${tm} + ly * 4 + 3]);
        let b = vec4<f32>(Bs[kk * ${tn} + lx * 4], Bs[kk * ${tn} + lx * 4 + 1],
                          Bs[kk * ${tn} + lx * 4 + 2], Bs[kk * ${tn} + lx * 4 + 3]);
        for (var i = 0; i < 4; i = i + 1) {
          acc[i * 4] = fma(a[i], b[0], acc[i * 4]);
          acc[i * 4 + 1] = fma(a[i], b[1], acc[i * 4 + 1]);
          acc[i * 4 + 2] = fma(a[i], b[2], acc[i * 4 + 2]);
          acc[i * 4 + 3] = fma(a[i], b[3], acc[i * 4 + 3]);
        }
      }
      workgroupBarrier();
    }
    let z = i32(workgroupId.z);
    for (var i = 0; i < 4; i = i + 1) {
      let row = row0 + ly * 4 + i;
      for (var j = 0; j < 4; j = j + 1) {
        let col = col0 + lx * 4 + j;
        if (row < uniforms.m && col < uniforms.co) {
          result[(z * uniforms.m + row) * uniforms.co + col] = acc[i * 4 + j];
        }
      }
    }
  }
`;
}

/** First pass: the S partial products, [S, m, co]. */
class FilterGradPartialsProgram {
  readonly variableNames = ['X', 'DY'];
  readonly uniforms =
    'm : i32, co : i32, k : i32, ci : i32, kw : i32, ho : i32, wo : i32, h : i32, w : i32, ' +
    'sh : i32, sw : i32, pt : i32, pl : i32, tilesPerSplit : i32,';
  readonly workgroupSize: [number, number, number];
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [2], y: [1], z: [0] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(readonly plan: FilterGradPlan) {
    this.workgroupSize = [plan.tile.tn / 4, plan.tile.tm / 4, 1];
    this.outputShape = [plan.splits, plan.m, plan.co];
    this.dispatch = plan.grid;
    this.shaderKey = `parqConv2DFilterGrad_${plan.tile.tm}x${plan.tile.tn}`;
  }

  getUserCode(): string {
    return partialsCode(this.plan.tile);
  }
}

/** Second pass: dW = the sum of the S partials, in order, one thread an element. */
class SumSplitsProgram {
  readonly variableNames = ['P'];
  readonly uniforms = 'splits : i32,';
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly shaderKey = 'parqSumSplits';

  constructor(outputShape: number[], count: number) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(count / 64), 1, 1];
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index >= uniforms.size) {
      return;
    }
    var s = 0.0;
    for (var z = 0; z < uniforms.splits; z = z + 1) {
      s = s + P[z * uniforms.size + index];
    }
    setOutputAtIndex(index, s);
  }
`;
  }
}

let stock: tf.KernelConfig | null = null;
let ours: tf.KernelConfig | null = null;

/**
 * Replaces webgpu's Conv2DBackpropFilter with the implicit GEMM above (channels-last float32;
 * the replaced kernel serves the rest). Idempotent; false where webgpu has no such kernel.
 */
export function registerWebGPUConvFilterGrad(): boolean {
  const current = tf.getKernel('Conv2DBackpropFilter', 'webgpu');
  if (!current) return false;
  if (current === ours || current.kernelFunc === ours?.kernelFunc) return true;
  stock = { ...current };
  const fallback = current.kernelFunc;
  const kernelFunc = ((args: {
    inputs: { x: tf.TensorInfo; dy: tf.TensorInfo };
    backend: unknown;
    attrs: Record<string, unknown>;
  }) => {
    const { inputs, backend, attrs } = args;
    const { x, dy } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as {
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    if (dataFormat === 'NCHW' || x.dtype !== 'float32') return fallback(args as never);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const m = info.filterHeight * info.filterWidth * info.inChannels;
    const co = info.outChannels;
    const k = info.batchSize * info.outHeight * info.outWidth;
    const plan = planFilterGrad(m, co, k);
    const gpu = backend as WebGPUBackendLike;
    const int = (v: number) => ({ type: 'int32' as const, data: [v] });
    const partials = gpu.runWebGPUProgram(new FilterGradPartialsProgram(plan), [x, dy], 'float32', [
      int(m),
      int(co),
      int(k),
      int(info.inChannels),
      int(info.filterWidth),
      int(info.outHeight),
      int(info.outWidth),
      int(info.inHeight),
      int(info.inWidth),
      int(info.strideHeight),
      int(info.strideWidth),
      int(info.padInfo.top),
      int(info.padInfo.left),
      int(plan.tilesPerSplit),
    ]);
    const out = gpu.runWebGPUProgram(
      new SumSplitsProgram([...filterShape], m * co),
      [partials],
      'float32',
      [int(plan.splits)],
    );
    gpu.disposeData(partials.dataId);
    return out;
  }) as tf.KernelFunc;
  ours = { kernelName: 'Conv2DBackpropFilter', backendName: 'webgpu', kernelFunc };
  tf.unregisterKernel('Conv2DBackpropFilter', 'webgpu');
  tf.registerKernel(ours);
  return true;
}

/**
 * Which filter gradient webgpu runs: parq-ts's implicit GEMM (the default once registered) or
 * tfjs's own, for side-by-side benchmarks and tests. False where it was never registered.
 */
export function useWebGPUConvFilterGrad(which: 'parq' | 'tfjs'): boolean {
  const config = which === 'parq' ? ours : stock;
  if (!config) return false;
  tf.unregisterKernel('Conv2DBackpropFilter', 'webgpu');
  tf.registerKernel(config);
  return true;
}
