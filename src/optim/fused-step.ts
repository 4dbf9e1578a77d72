/**
 * A quantized variable's whole QAT update as one kernel, `ParqFusedStep`: the base
 * optimizer's update of its latent weights (tfjs's SGD or Momentum, base-update.ts: the same
 * float32 ops in the same order, so the same bits), then, where given levels and a mode, the
 * prox map of the new latent weights, a slab of rows at a time so that the map reads what
 * the update just wrote while it is in cache.
 *
 * Composed, the same work is four tfjs kernels over the weights for momentum (each a pass
 * through memory and a new tensor) and one more for the map; fused, one pass. Outputs: the
 * new latent weights, the new accumulation (not for SGD), and the mapped weights (with
 * levels), each in the variable's shape. Registered for cpu (JavaScript) and wasm (the prox
 * module's SIMD `momentum` and maps over the heap, else the same JavaScript on it); other
 * backends don't have it, and QuantOptimizer then steps as composed ops.
 */
import * as tf from '@tensorflow/tfjs';
import { registerHostKernel, type HostArrays } from '../backend/host-arrays.js';
import { RowMapper, simdOfBackend, type ViewArrays } from '../prox/fused-kernel.js';
import type { SimdProx } from '../prox/simd/index.js';

export const FUSED_STEP_KERNEL = 'ParqFusedStep';

/**
 * Weights a slab: the update and the map take this many (or the rows that hold them) at a
 * time, ~0.4 MB for the six arrays a momentum step touches (the L2 of a laptop core), and no
 * fewer than the prox maps' timed choice between modules waits for (VariantTuner.minItems).
 */
const SLAB = 16384;

const f32 = Math.fround;

/** The update of weights [i0, i1) in JavaScript, rounding each op to float32 as tfjs does. */
function updateLoop(
  kind: number,
  g: Float32Array,
  a: Float32Array | null,
  x: Float32Array,
  aOut: Float32Array | null,
  xOut: Float32Array,
  i0: number,
  i1: number,
  m: number,
  c: number,
): void {
  if (kind === 0) {
    for (let i = i0; i < i1; i++) xOut[i] = f32(f32(c * g[i]) + x[i]);
    return;
  }
  const acc = a as Float32Array;
  const accOut = aOut as Float32Array;
  for (let i = i0; i < i1; i++) {
    const na = f32(f32(m * acc[i]) + g[i]);
    accOut[i] = na;
    const step = kind === 2 ? f32(g[i] + f32(na * m)) : na;
    xOut[i] = f32(f32(c * step) + x[i]);
  }
}

interface Attrs {
  /** base-update.ts's kind */
  kind: number;
  /** the prox mode (kernel-modes.ts), or -1: the update alone */
  mode: number;
  param: number;
  /** the variable as the map's view [A, M, C] */
  view: [number, number, number];
}

function kernelFunc({ read, make, address }: HostArrays, simdFor: () => SimdProx | null) {
  return ({ inputs, attrs }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }) => {
    const { x, g, a, m, c, levels } = inputs as Record<string, tf.TensorInfo | undefined>;
    const { kind, mode, param, view } = attrs as unknown as Attrs;
    const xi = x as tf.TensorInfo;
    const gi = g as tf.TensorInfo;
    const shape = xi.shape;
    const mapped = mode >= 0 && levels !== undefined;
    const mv = kind === 0 ? 0 : read(m as tf.TensorInfo)[0];
    const cv = read(c as tf.TensorInfo)[0];
    // every allocation before any view is taken (an allocation may grow the wasm heap)
    const latent = make(shape);
    const accum = kind === 0 ? null : make(shape);
    const out = mapped ? make(shape) : null;
    const views = () => ({
      g: read(gi),
      a: kind === 0 ? null : read(a as tf.TensorInfo),
      x: read(xi),
      aOut: accum ? accum.values() : null,
      xOut: latent.values(),
    });
    const simd = simdFor();
    const at = simd && address ? address : null;
    const update = (i0: number, i1: number) => {
      if (at) {
        const w = (t: tf.TensorInfo | null) => (t ? at(t) + i0 * 4 : 0);
        simd!.momentum(
          kind,
          w(gi),
          w(kind === 0 ? null : (a as tf.TensorInfo)),
          w(xi),
          w(accum ? accum.info : null),
          w(latent.info),
          i1 - i0,
          mv,
          cv,
        );
      } else {
        const v = views();
        updateLoop(kind, v.g, v.a, v.x, v.aOut, v.xOut, i0, i1, mv, cv);
      }
    };
    const infos = [latent.info, ...(accum ? [accum.info] : [])];
    if (!mapped) {
      update(
        0,
        xi.shape.reduce((p, d) => p * d, 1),
      );
      return infos;
    }
    const outs = out as NonNullable<typeof out>;
    const levelsInfo = levels as tf.TensorInfo;
    const [A, M, C] = view;
    const k = levelsInfo.shape[1] as number;
    let arrays: ViewArrays | null = null;
    const mapper = new RowMapper(
      simd,
      at ? { x: at(latent.info), out: at(outs.info), levels: at(levelsInfo) } : null,
      () => (arrays ??= { x: latent.values(), out: outs.values(), levels: read(levelsInfo) }),
      view,
      k,
      mode,
      param,
    );
    const rows = Math.max(1, Math.ceil(SLAB / C));
    for (let b = 0; b < A; b++) {
      for (let m0 = 0; m0 < M; m0 += rows) {
        const m1 = Math.min(M, m0 + rows);
        update((b * M + m0) * C, (b * M + m1) * C);
        mapper.rows(b, m0, m1);
      }
    }
    return [...infos, outs.info];
  };
}

/** Register the fused step for cpu and wasm (no-op where registered). */
export function registerFusedStepKernel(): void {
  registerHostKernel(FUSED_STEP_KERNEL, (arrays, backendName, backend) =>
    kernelFunc(arrays, backendName === 'wasm' ? simdOfBackend(backend) : () => null),
  );
}

export interface FusedStepResult {
  latent: tf.Tensor;
  /** null for SGD */
  accumulation: tf.Tensor | null;
  /** null without a map */
  mapped: tf.Tensor | null;
}

/**
 * The base update (`kind`, scalars `m`, `c`) of weights `x` by gradient `g` and accumulation
 * `a`, then, given `levels` `[A, k, C]` and a prox mode code (>= 0), the map of the result
 * viewed as `view` with `param`; null where the backend has no fused kernel.
 */
export function fusedStep(args: {
  kind: 0 | 1 | 2;
  x: tf.Tensor;
  g: tf.Tensor;
  a: tf.Tensor | null;
  m: tf.Tensor | null;
  c: tf.Tensor;
  view: readonly [number, number, number];
  levels?: tf.Tensor3D;
  mode?: number;
  param?: number;
}): FusedStepResult | null {
  if (!tf.getKernel(FUSED_STEP_KERNEL, tf.getBackend())) return null;
  const { kind, x, g, a, m, c, view, levels } = args;
  const mode = levels && args.mode !== undefined ? args.mode : -1;
  const inputs: tf.NamedTensorMap = { x, g, c };
  if (kind !== 0) Object.assign(inputs, { a: a as tf.Tensor, m: m as tf.Tensor });
  if (mode >= 0) inputs.levels = levels as tf.Tensor3D;
  const attrs = { kind, mode, param: args.param ?? 0, view: [...view] };
  const outs = tf
    .engine()
    .runKernel(FUSED_STEP_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as
    tf.Tensor[] | tf.Tensor;
  const list = Array.isArray(outs) ? outs : [outs];
  return {
    latent: list[0],
    accumulation: kind === 0 ? null : list[1],
    mapped: mode >= 0 ? list[kind === 0 ? 1 : 2] : null,
  };
}

registerFusedStepKernel();
