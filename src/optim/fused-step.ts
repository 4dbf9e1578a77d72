/**
 * A variable's whole QAT update as one kernel, `ParqFusedStep`: the base optimizer's update
 * of its latent weights (tfjs's SGD, Momentum or Adam, base-update.ts: the same float32 ops in
 * the same order, so the same bits; with ADMM-Q's augmented gradient where given), then,
 * where given levels and a mode, the prox map of the new latent weights, a slab of rows at a
 * time so that the map reads what the update just wrote while it is in cache.
 *
 * Composed, the same work is four tfjs kernels over the weights for momentum, fourteen for
 * Adam (each a pass through memory and a new tensor), and one more for the map; fused, one
 * pass. Outputs: the new latent weights, the optimizer's new state (momentum's accumulation,
 * Adam's two moments; none for SGD), and the mapped weights (with levels), each in the
 * variable's shape. Registered here for cpu (JavaScript) and wasm (the prox module's SIMD
 * `augment`, `momentum`, `adam` and maps over the heap, else the same JavaScript on it); for
 * webgpu by backend/webgpu-fused-step.ts. Other backends don't have it, and the QAT
 * optimizers step composed there (`fusedStepRuns`).
 */
import * as tf from '@tensorflow/tfjs';
import { registerHostKernel, type HostArrays } from '../backend/host-arrays.js';
import { RowMapper, simdOfBackend } from '../prox/fused-kernel.js';
import { type SimdProx, simdProxFor } from '../prox/simd/index.js';
import type { BaseUpdate } from './base-update.js';

export const FUSED_STEP_KERNEL = 'ParqFusedStep';

/**
 * Weights a slab: the update and the map take this many (or the rows that hold them) at a
 * time, 0.4-0.5 MB for the six to eight arrays a step touches (the L2 of a laptop core), and
 * no fewer than the prox maps' timed choice between modules waits for (VariantTuner.minItems).
 */
const SLAB = 16384;

const f32 = Math.fround;

/** The arrays of one update: inputs, the state it reads (`a`, `a2`) and every output. */
interface UpdateArrays {
  g: Float32Array;
  x: Float32Array;
  a: Float32Array | null;
  a2: Float32Array | null;
  xOut: Float32Array;
  aOut: Float32Array | null;
  a2Out: Float32Array | null;
}

/** The update's scalars as numbers: `m`, `c` (SGD, momentum), `s1`, `s2` and the attrs (Adam). */
type Scalars = Record<string, number>;

/** The update of weights [i0, i1) in JavaScript, rounding each op to float32 as tfjs does. */
function updateLoop(kind: number, u: UpdateArrays, i0: number, i1: number, k: Scalars): void {
  const { g, x, xOut } = u;
  const { m, c } = k;
  if (kind === 0) {
    for (let i = i0; i < i1; i++) xOut[i] = f32(f32(c * g[i]) + x[i]);
    return;
  }
  const a = u.a as Float32Array;
  const aOut = u.aOut as Float32Array;
  if (kind === 3) {
    const v = u.a2 as Float32Array;
    const vOut = u.a2Out as Float32Array;
    const { b1, ob1, b2, ob2, s1, s2, eps, nlr } = k;
    for (let i = i0; i < i1; i++) {
      const gi = g[i];
      const nm = f32(f32(a[i] * b1) + f32(gi * ob1));
      const nv = f32(f32(v[i] * b2) + f32(f32(gi * gi) * ob2));
      aOut[i] = nm;
      vOut[i] = nv;
      const den = f32(f32(Math.sqrt(f32(nv / s2))) + eps);
      xOut[i] = f32(f32(f32(f32(nm / s1) / den) * nlr) + x[i]);
    }
    return;
  }
  for (let i = i0; i < i1; i++) {
    const na = f32(f32(m * a[i]) + g[i]);
    aOut[i] = na;
    const step = kind === 2 ? f32(g[i] + f32(na * m)) : na;
    xOut[i] = f32(f32(c * step) + x[i]);
  }
}

interface Attrs extends Record<string, unknown> {
  /** ADMM-Q's penalty (with inputs lam and z) */
  rho?: number;
  /** base-update.ts's kind */
  kind: number;
  /** the prox mode (kernel-modes.ts), or -1: the update alone */
  mode: number;
  param: number;
  /** the variable as the map's view [A, M, C] */
  view: [number, number, number];
}

const SCALAR_INPUTS = ['m', 'c', 's1', 's2'];
const ADAM_ATTRS = ['b1', 'ob1', 'b2', 'ob2', 'eps', 'nlr'];

function kernelFunc({ read, make, address }: HostArrays, simdFor: () => SimdProx | null) {
  return ({ inputs, attrs }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }) => {
    const ins = inputs as Record<string, tf.TensorInfo | undefined>;
    const x = ins.x as tf.TensorInfo;
    const g = ins.g as tf.TensorInfo;
    const { a, a2, levels, lam, z } = ins;
    // ADMM-Q: the update steps on (g + lam) + (x - z)*rho, written first where x' goes
    const augmented = lam !== undefined && z !== undefined;
    const at = attrs as unknown as Attrs;
    const { kind, mode, param, view } = at;
    const k: Scalars = {};
    for (const name of SCALAR_INPUTS) {
      const t = ins[name];
      if (t) k[name] = read(t)[0];
    }
    for (const name of ADAM_ATTRS) if (typeof at[name] === 'number') k[name] = at[name] as number;
    const shape = x.shape;
    const mapped = mode >= 0 && levels !== undefined;
    // every allocation before any view is taken (an allocation may grow the wasm heap)
    const latent = make(shape);
    const aOut = a ? make(shape) : null;
    const a2Out = a2 ? make(shape) : null;
    const out = mapped ? make(shape) : null;
    const simd = simdFor();
    const addr = simd && address ? address : null;
    const rho = augmented ? Math.fround(at.rho as number) : 0;
    const update = (i0: number, i1: number) => {
      if (addr && simd) {
        const w = (t: tf.TensorInfo | null | undefined) => (t ? addr(t) + i0 * 4 : 0);
        const n = i1 - i0;
        // the gradient the update reads: g, or ADMM-Q's, first written where x' goes (each
        // function reads an element's gradient before it writes the element's x')
        let gAt = w(g);
        if (augmented) {
          simd.augment(gAt, w(lam), w(x), w(z), w(latent.info), n, rho);
          gAt = w(latent.info);
        }
        if (kind === 3) {
          simd.adam(gAt, w(a), w(a2), w(x), w(aOut?.info), w(a2Out?.info), w(latent.info), n, k);
        } else {
          simd.momentum(kind, gAt, w(a), w(x), w(aOut?.info), w(latent.info), n, k.m ?? 0, k.c);
        }
        return;
      }
      let gv = read(g);
      if (augmented) {
        const xs = read(x);
        const ls = read(lam as tf.TensorInfo);
        const zs = read(z as tf.TensorInfo);
        const out = latent.values();
        for (let i = i0; i < i1; i++)
          out[i] = f32(f32(gv[i] + ls[i]) + f32(f32(xs[i] - zs[i]) * rho));
        gv = out;
      }
      updateLoop(
        kind,
        {
          g: gv,
          x: read(x),
          a: a ? read(a) : null,
          a2: a2 ? read(a2) : null,
          xOut: latent.values(),
          aOut: aOut ? aOut.values() : null,
          a2Out: a2Out ? a2Out.values() : null,
        },
        i0,
        i1,
        k,
      );
    };
    const infos = [latent, aOut, a2Out].filter((o) => o !== null).map((o) => o.info);
    if (!mapped) {
      update(
        0,
        shape.reduce((p, d) => p * d, 1),
      );
      return infos;
    }
    const outs = out as NonNullable<typeof out>;
    const levelsInfo = levels as tf.TensorInfo;
    const [A, M, C] = view;
    const mapper = new RowMapper(
      simd,
      addr ? { x: addr(latent.info), out: addr(outs.info), levels: addr(levelsInfo) } : null,
      () => ({ x: latent.values(), out: outs.values(), levels: read(levelsInfo) }),
      view,
      levelsInfo.shape[1] as number,
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

/**
 * Whether the current backend runs the fused step and gains by it: cpu (JavaScript loops
 * either way), webgpu (its WGSL programs, backend/webgpu-fused-step.ts: fewer dispatches), and
 * wasm where the SIMD module runs on its heap. Not the threaded wasm build: the module cannot
 * import its shared memory, and one JavaScript loop there is slower than tfjs's own threaded
 * ops (MLP QAT / plain 1.40 fused, 1.20 composed, 2 threads).
 */
export function fusedStepRuns(): boolean {
  const name = tf.getBackend();
  if (!tf.getKernel(FUSED_STEP_KERNEL, name)) return false;
  if (name === 'cpu' || name === 'webgpu') return true;
  return (
    name === 'wasm' && simdProxFor((tf.backend() as unknown as { wasm: unknown }).wasm) !== null
  );
}

export interface FusedStepResult {
  latent: tf.Tensor;
  /** the optimizer's new state, in BaseUpdate.state's order (empty for SGD) */
  state: tf.Tensor[];
  /** null without a map */
  mapped: tf.Tensor | null;
}

/**
 * The base update (`update`) of weights `x` by gradient `g` with the optimizer's `state`
 * (BaseUpdate.state), then, given `levels` `[A, k, C]` and a prox mode code (>= 0), the map
 * of the result viewed as `view` with `param`; null where the backend has no fused kernel.
 */
export function fusedStep(args: {
  update: BaseUpdate;
  x: tf.Tensor;
  g: tf.Tensor;
  state: tf.Variable[];
  view: readonly [number, number, number];
  levels?: tf.Tensor3D;
  mode?: number;
  param?: number;
  /** ADMM-Q: step on `(g + lambda) + (x - z) * rho` instead of g */
  augment?: { lambda: tf.Tensor; z: tf.Tensor; rho: number };
}): FusedStepResult | null {
  if (!tf.getKernel(FUSED_STEP_KERNEL, tf.getBackend())) return null;
  const { update, x, g, state, view, levels } = args;
  const mode = levels && args.mode !== undefined ? args.mode : -1;
  const inputs: tf.NamedTensorMap = { x, g, ...update.scalars };
  if (state[0]) inputs.a = state[0];
  if (state[1]) inputs.a2 = state[1];
  if (mode >= 0) inputs.levels = levels as tf.Tensor3D;
  if (args.augment) Object.assign(inputs, { lam: args.augment.lambda, z: args.augment.z });
  const attrs = {
    ...(args.augment ? { rho: args.augment.rho } : {}),
    ...update.attrs,
    kind: update.kind,
    mode,
    param: args.param ?? 0,
    view: [...view],
  };
  const outs = tf
    .engine()
    .runKernel(FUSED_STEP_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as
    tf.Tensor[] | tf.Tensor;
  const list = Array.isArray(outs) ? outs : [outs];
  return {
    latent: list[0],
    state: list.slice(1, 1 + state.length),
    mapped: mode >= 0 ? list[1 + state.length] : null,
  };
}

registerFusedStepKernel();
