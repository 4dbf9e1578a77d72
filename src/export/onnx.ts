/**
 * A trained model as ONNX (opset 17 + com.microsoft), for ONNX Runtime (Node, Web, transformers.js).
 *
 * - A quantized Dense kernel whose levels are affine in every group (`L_j = L_0 + j d`: uniform,
 *   Stretched, ternary, 1 bit) becomes com.microsoft `MatMulNBits` at 2, 4 or 8 bits (ternary
 *   and 1 bit stored at 2, 3 bits at 4, 5..7 at 8: `matMulNBitsWidth`): codes
 *   packed at `bits` bits in blocks of 16..128 inputs, one float scale `d` per block and no zero
 *   points, so ONNX Runtime dequantizes `(q - 2^(b-1)) d`. The rest, `c = L_0 + 2^(b-1) d` per
 *   group, is added as `c * sum(x)` over the group's inputs: one scalar per tensor, one value per
 *   output channel, or a block-sum MatMul per block.
 * - Any other quantized kernel (LSBQ levels, convolutions) is stored as uint8
 *   indices plus its level table `[A, k, C]` and dequantized in the graph by GatherElements.
 * - Everything else is standard ops: Gemm/MatMul, Conv (NCHW, `SAME_UPPER` = tfjs `same`),
 *   MaxPool, BatchNormalization, Relu, Add, ReduceMean, Softmax. Image inputs stay NHWC at the
 *   graph's edge (a Transpose at the input, and before Flatten, keeps tfjs's flatten order).
 *
 * Supported layers: InputLayer, Dense, Conv2D, MaxPooling2D, AveragePooling2D, BatchNormalization,
 * ReLU, Activation (relu, softmax, linear), Add, Flatten, GlobalAveragePooling2D.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  collectTensors,
  type CollectOptions,
  type CollectedTensor,
  type QuantizedState,
} from './collect.js';
import { PRODUCER } from './format.js';
import { packedBitsLength } from '../quant/bit-width.js';
import {
  encodeOnnxModel,
  ONNX_FLOAT,
  ONNX_INT64,
  ONNX_UINT8,
  type OnnxInitializer,
  type OnnxNode,
} from './onnx-proto.js';

export interface OnnxExportOptions extends CollectOptions {
  /** MatMulNBits block size along the input, a power of two in 16..128, for per-tensor and
   * per-channel groups (block groups use their own size). Default: the one of 16..128 giving the
   * fewest bytes. */
  blockSize?: number;
  /** Free-form strings stored as the model's metadata_props. */
  metadata?: Record<string, string>;
}

/** How each kernel was written. */
export interface OnnxTensorReport {
  name: string;
  encoding: 'MatMulNBits' | 'gather' | 'float32';
  /** The stored width: MatMulNBits's `bits` (2, 4 or 8), or the tensor's own for gather. */
  bits?: number;
  /** The tensor's own bits (0 = ternary) when they differ from the stored width. */
  levelBits?: number;
  blockSize?: number;
  bytes: number;
}

export interface OnnxExport {
  bytes: Uint8Array;
  tensors: OnnxTensorReport[];
}

const fail = (m: string): never => {
  throw new Error(`onnx export: ${m}`);
};

const f32Bytes = (v: Float32Array | number[]) => new Uint8Array(Float32Array.from(v).buffer);
const i64Bytes = (v: number[]) => new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer);

/** An affine reading of a quantized tensor: per group `L_0`, step `d`, and each level's code. */
interface Affine {
  l0: Float32Array;
  d: Float32Array;
  /** `[groups * k]`: level `j` of group `g` is `l0[g] + codes[g * k + j] * d[g]`. */
  codes: Uint8Array;
}

/**
 * Whether each group's levels lie on a grid `L_0 + c d` with integer codes `c < 2^bits` (within
 * 1e-5 of the largest level): uniform, Stretched, ternary and 1-bit levels do, even when a group
 * uses only some of its grid points (d is then the smallest gap over the first integer m that
 * fits every level); LSBQ levels in general do not.
 */
function affineLevels(
  t: Extract<CollectedTensor, { kind: 'quantized' }>,
  bits: number,
): Affine | null {
  const [a, , c] = t.view;
  const groups = a * c;
  const k = t.k;
  const l0 = new Float32Array(groups);
  const d = new Float32Array(groups);
  const codes = new Uint8Array(groups * k);
  const limit = 2 ** bits - 1;
  for (let g = 0; g < groups; g++) {
    const row = t.levels.subarray(g * k, (g + 1) * k);
    let n = k; // the row repeats its last level to pad
    while (n > 1 && row[n - 1] === row[n - 2]) n--;
    l0[g] = row[0];
    let gap = Infinity;
    for (let j = 1; j < n; j++) gap = Math.min(gap, row[j] - row[j - 1]);
    if (n === 1 || !(gap > 0)) {
      d[g] = n === 1 ? Math.abs(row[0]) || 1 : 1;
      continue;
    }
    const tol = 1e-5 * Math.max(Math.abs(row[0]), Math.abs(row[n - 1]));
    // The grid step is the smallest gap, or a fraction 1/m of it when the group uses only
    // some grid points (e.g. 32 weights on 256 levels): the first m that puts every level on it.
    let step = 0;
    for (let m = 1; step === 0; m++) {
      const top = Math.round(((row[n - 1] - row[0]) / gap) * m);
      if (top > limit) return null;
      const s = (row[n - 1] - row[0]) / top;
      let on = true;
      for (let j = 1; j < n && on; j++) {
        const code = Math.round((row[j] - row[0]) / s);
        on = Math.abs(row[j] - (row[0] + code * s)) <= tol;
      }
      if (on) step = s;
    }
    for (let j = 0; j < k; j++) {
      codes[g * k + j] = Math.round((row[Math.min(j, n - 1)] - row[0]) / step);
    }
    d[g] = step;
  }
  return { l0, d, codes };
}

/** The ONNX graph under construction. */
class Graph {
  nodes: OnnxNode[] = [];
  inits: OnnxInitializer[] = [];
  private n = 0;

  fresh(base: string): string {
    return `${base}__${this.n++}`;
  }
  node(
    op: string,
    inputs: string[],
    outputs: string[],
    attributes?: OnnxNode['attributes'],
    domain?: string,
  ): string {
    this.nodes.push({ op, inputs, outputs, attributes, domain, name: outputs[0] });
    return outputs[0];
  }
  init(name: string, dims: number[], dataType: number, raw: Uint8Array): string {
    this.inits.push({ name, dims, dataType, raw });
    return name;
  }
  floats(name: string, dims: number[], v: Float32Array | number[]): string {
    return this.init(name, dims, ONNX_FLOAT, f32Bytes(v));
  }
  ints(name: string, v: number[]): string {
    return this.init(name, [v.length], ONNX_INT64, i64Bytes(v));
  }
}

/** Dequantize a kernel in the graph from uint8 indices and its `[A, k, C]` level table. */
function gatherKernel(g: Graph, t: Extract<CollectedTensor, { kind: 'quantized' }>): string {
  const [a, m, c] = t.view;
  const k = t.k;
  // levels [A*C, k] (group-major) -> [A, k, C]
  const table = new Float32Array(a * k * c);
  for (let ai = 0; ai < a; ai++)
    for (let ci = 0; ci < c; ci++)
      for (let j = 0; j < k; j++) table[(ai * k + j) * c + ci] = t.levels[(ai * c + ci) * k + j];
  const lv = g.floats(`${t.name}/levels`, [a, k, c], table);
  const idx = g.init(`${t.name}/indices`, [a, m, c], ONNX_UINT8, t.indices.slice());
  const i64 = g.node(
    'Cast',
    [idx],
    [g.fresh(`${t.name}/indices_i64`)],
    [{ name: 'to', int: ONNX_INT64 }],
  );
  const w = g.node(
    'GatherElements',
    [lv, i64],
    [g.fresh(`${t.name}/view`)],
    [{ name: 'axis', int: 1 }],
  );
  return g.node('Reshape', [w, g.ints(`${t.name}/shape`, t.shape)], [g.fresh(`${t.name}/value`)]);
}

/**
 * The MatMulNBits width that holds a tensor's codes: ONNX Runtime's kernels take 2, 4 and 8
 * bits, so ternary and 1 bit are stored at 2, 3 bits at 4, and 5..7 bits at 8.
 */
export function matMulNBitsWidth(bits: number): 2 | 4 | 8 {
  return bits <= 2 ? 2 : bits <= 4 ? 4 : 8;
}

function bestBlockSize(inDim: number, bits: number, fixed?: number): number {
  if (fixed !== undefined) return fixed;
  let best = 16;
  let bytes = Infinity;
  for (const bs of [16, 32, 64, 128]) {
    const kb = Math.ceil(inDim / bs);
    const b = kb * (packedBitsLength(bs, bits) + 4);
    if (b < bytes) {
      bytes = b;
      best = bs;
    }
  }
  return best;
}

/** `x @ W` for a Dense kernel `[K, N]` as MatMulNBits plus the affine correction; returns its output. */
function matMulNBits(
  g: Graph,
  x: string,
  t: Extract<CollectedTensor, { kind: 'quantized' }>,
  aff: Affine,
  blockSizeOption: number | undefined,
  report: OnnxTensorReport[],
): string | null {
  const [K, N] = t.shape;
  const [A, M, C] = t.view;
  const bits = matMulNBitsWidth(t.bits);
  // group of weight (row r, column n): per tensor (A = C = 1), per channel (A = 1, C = N), or blocks of M rows
  const perBlock = A > 1;
  if (perBlock && C !== N) return null;
  // Segments of the input axis, each one MatMulNBits: the group's own blocks, a fixed block size,
  // or (per tensor / channel) blocks of 128 then a tail block size that pads the least.
  const segments: { start: number; len: number; bs: number }[] = [];
  if (perBlock) {
    if (![16, 32, 64, 128].includes(M)) return null;
    segments.push({ start: 0, len: K, bs: M });
  } else if (blockSizeOption !== undefined || K <= 128) {
    segments.push({ start: 0, len: K, bs: bestBlockSize(K, bits, blockSizeOption) });
  } else {
    const main = Math.floor(K / 128) * 128;
    segments.push({ start: 0, len: main, bs: 128 });
    if (K > main) segments.push({ start: main, len: K - main, bs: bestBlockSize(K - main, bits) });
  }
  const z = 2 ** (bits - 1);
  const groupOf = (r: number, n: number) =>
    perBlock ? Math.floor(r / M) * C + n : C === 1 ? 0 : n;
  const perVal = 8 / bits;
  const name = t.name;
  let y = '';
  let weightBytes = 0;
  segments.forEach(({ start, len, bs }, si) => {
    const kb = Math.ceil(len / bs);
    const blob = packedBitsLength(bs, bits);
    const B = new Uint8Array(N * kb * blob);
    const scales = new Float32Array(N * kb);
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < kb; b++) {
        scales[n * kb + b] = aff.d[groupOf(start + b * bs, n)];
        for (let j = 0; j < bs; j++) {
          const r = start + b * bs + j;
          // padded rows hold code z: (z - z) d = 0 (ONNX Runtime zero-pads the input too)
          const q = r < start + len ? aff.codes[groupOf(r, n) * t.k + t.indices[r * N + n]] : z;
          const at = (n * kb + b) * blob + Math.floor(j / perVal);
          B[at] |= q << ((j % perVal) * bits);
        }
      }
    }
    weightBytes += B.length + scales.length * 4;
    const tag = segments.length > 1 ? `${name}/part${si}` : name;
    const xs =
      segments.length > 1
        ? g.node(
            'Slice',
            [
              x,
              g.ints(`${tag}/starts`, [start]),
              g.ints(`${tag}/ends`, [start + len]),
              g.ints(`${tag}/axes`, [-1]),
            ],
            [g.fresh(`${tag}/x`)],
          )
        : x;
    const part = g.node(
      'MatMulNBits',
      [
        xs,
        g.init(`${tag}/B`, [N, kb, blob], ONNX_UINT8, B),
        g.floats(`${tag}/scales`, [N * kb], scales),
      ],
      [g.fresh(`${tag}/matmul`)],
      [
        { name: 'K', int: len },
        { name: 'N', int: N },
        { name: 'bits', int: bits },
        { name: 'block_size', int: bs },
      ],
      'com.microsoft',
    );
    y = y ? g.node('Add', [y, part], [g.fresh(`${name}/sum`)]) : part;
  });
  // correction c = L_0 + z d per group, times the sum of the group's inputs
  const groups = A * C;
  const corr = new Float32Array(groups);
  let any = false;
  for (let i = 0; i < groups; i++) {
    corr[i] = aff.l0[i] + z * aff.d[i];
    if (corr[i] !== 0) any = true;
  }
  let extra = 0;
  if (any) {
    let add: string;
    if (!perBlock) {
      const sum = g.node(
        'ReduceSum',
        [x, g.ints(`${name}/sum_axes`, [-1])],
        [g.fresh(`${name}/xsum`)],
        [{ name: 'keepdims', int: 1 }],
      );
      add = g.node(
        'Mul',
        [sum, g.floats(`${name}/offset`, [C], corr)],
        [g.fresh(`${name}/offset_term`)],
      );
      extra = C * 4;
    } else {
      const xb = g.node(
        'Reshape',
        [x, g.ints(`${name}/blocks_shape`, [-1, A, M])],
        [g.fresh(`${name}/xblocks`)],
      );
      const sums = g.node(
        'ReduceSum',
        [xb, g.ints(`${name}/block_axes`, [2])],
        [g.fresh(`${name}/xblocksum`)],
        [{ name: 'keepdims', int: 0 }],
      );
      add = g.node(
        'MatMul',
        [sums, g.floats(`${name}/offset`, [A, C], corr)],
        [g.fresh(`${name}/offset_term`)],
      );
      extra = A * C * 4;
    }
    y = g.node('Add', [y, add], [g.fresh(`${name}/affine`)]);
  }
  report.push({
    name,
    encoding: 'MatMulNBits',
    bits,
    ...(t.bits !== bits ? { levelBits: t.bits } : {}),
    blockSize: segments[0].bs,
    bytes: weightBytes + extra,
  });
  return y;
}

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  inboundNodes?: { inboundLayers: LayerLike[] }[];
  weights: { originalName: string }[];
}

/** Exports `model` as ONNX bytes (see the module comment). Reads weights; changes nothing. */
export async function exportOnnx(
  model: tf.LayersModel,
  optimizer?: QuantizedState,
  options: OnnxExportOptions = {},
): Promise<OnnxExport> {
  const bs = options.blockSize;
  if (bs !== undefined && ![16, 32, 64, 128].includes(bs)) {
    fail(`blockSize must be 16, 32, 64 or 128, got ${bs}`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    fail('the model needs one input and one output');
  const collected = await collectTensors(model, optimizer, options);
  const byName = new Map(collected.map((t) => [t.name, t]));
  const g = new Graph();
  const report: OnnxTensorReport[] = [];

  const inShape = (model.inputs[0].shape as (number | null)[]).slice(1) as number[];
  const image = inShape.length === 3;
  const input = 'input';
  const out = new Map<string, string>(); // layer name -> its output (NCHW for images)
  let inputValue: string | undefined;
  /** The graph input, NCHW for images (one Transpose, made on first use). */
  const graphInput = (): string =>
    (inputValue ??= image
      ? g.node('Transpose', [input], ['input_nchw'], [{ name: 'perm', ints: [0, 3, 1, 2] }])
      : input);
  /** The tensor value of a weight: float32 initializer or a dequantizing subgraph. */
  const weight = (name: string): string => {
    const t = byName.get(name) ?? fail(`no weight '${name}'`);
    if (t.kind === 'float') return g.floats(name, t.shape, t.values);
    report.push({
      name,
      encoding: 'gather',
      bits: t.bits,
      bytes: t.indices.length + t.levels.length * 4,
    });
    return gatherKernel(g, t);
  };
  const activation = (x: string, act: unknown, name: string): string => {
    if (act === undefined || act === null || act === 'linear') return x;
    if (act === 'relu') return g.node('Relu', [x], [g.fresh(`${name}/relu`)]);
    if (act === 'softmax')
      return g.node('Softmax', [x], [g.fresh(`${name}/softmax`)], [{ name: 'axis', int: -1 }]);
    return fail(`layer '${name}': activation '${String(act)}' is not supported`);
  };

  for (const layer of model.layers as unknown as LayerLike[]) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    const name = layer.name;
    const ins = (layer.inboundNodes?.[0]?.inboundLayers ?? []).map(
      (l) =>
        out.get(l.name) ??
        (l.getClassName() === 'InputLayer'
          ? graphInput()
          : fail(`layer '${name}': input '${l.name}' not yet built`)),
    );
    if (cls === 'InputLayer') {
      out.set(name, graphInput());
      continue;
    }
    const x = ins[0] ?? graphInput();
    let y: string;
    switch (cls) {
      case 'Dense': {
        const kName = `${name}/kernel`;
        const t = byName.get(kName);
        let mm: string | null = null;
        if (t?.kind === 'quantized') {
          const aff = affineLevels(t, matMulNBitsWidth(t.bits));
          if (aff) mm = matMulNBits(g, x, t, aff, bs, report);
        } else if (t) report.push({ name: kName, encoding: 'float32', bytes: t.values.length * 4 });
        if (mm === null) mm = g.node('MatMul', [x, weight(kName)], [g.fresh(`${name}/matmul`)]);
        y =
          cfg.useBias || cfg.use_bias
            ? g.node('Add', [mm, weight(`${name}/bias`)], [g.fresh(`${name}/bias_add`)])
            : mm;
        y = activation(y, cfg.activation, name);
        break;
      }
      case 'Conv2D': {
        const kName = `${name}/kernel`;
        const t = byName.get(kName);
        if (t?.kind === 'float')
          report.push({ name: kName, encoding: 'float32', bytes: t.values.length * 4 });
        if ((cfg.dilationRate as number[] | undefined)?.some((d) => d !== 1))
          fail(`layer '${name}': dilation is not supported`);
        const k = weight(kName);
        const oihw = g.node(
          'Transpose',
          [k],
          [g.fresh(`${name}/oihw`)],
          [{ name: 'perm', ints: [3, 2, 0, 1] }],
        );
        const inputs = [x, oihw];
        if (cfg.useBias) inputs.push(weight(`${name}/bias`));
        y = g.node(
          'Conv',
          inputs,
          [g.fresh(`${name}/conv`)],
          [
            { name: 'strides', ints: cfg.strides as number[] },
            { name: 'kernel_shape', ints: cfg.kernelSize as number[] },
            { name: 'auto_pad', string: cfg.padding === 'same' ? 'SAME_UPPER' : 'VALID' },
          ],
        );
        y = activation(y, cfg.activation, name);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        y = g.node(
          cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool',
          [x],
          [g.fresh(name)],
          [
            { name: 'kernel_shape', ints: cfg.poolSize as number[] },
            { name: 'strides', ints: (cfg.strides ?? cfg.poolSize) as number[] },
            { name: 'auto_pad', string: cfg.padding === 'same' ? 'SAME_UPPER' : 'VALID' },
          ],
        );
        break;
      case 'BatchNormalization':
        if (cfg.axis !== -1 && cfg.axis !== 3)
          fail(`layer '${name}': batch norm on axis ${String(cfg.axis)}`);
        y = g.node(
          'BatchNormalization',
          [
            x,
            weight(`${name}/gamma`),
            weight(`${name}/beta`),
            weight(`${name}/moving_mean`),
            weight(`${name}/moving_variance`),
          ],
          [g.fresh(name)],
          [{ name: 'epsilon', float: cfg.epsilon as number }],
        );
        break;
      case 'ReLU':
        y = g.node('Relu', [x], [g.fresh(name)]);
        break;
      case 'Activation':
        y = activation(x, cfg.activation, name);
        break;
      case 'Add':
        y = ins.slice(1).reduce((acc, v) => g.node('Add', [acc, v], [g.fresh(name)]), ins[0]);
        break;
      case 'Flatten': {
        const rank = (layer as unknown as { input: tf.SymbolicTensor }).input.shape.length;
        const nhwc =
          rank === 4
            ? g.node(
                'Transpose',
                [x],
                [g.fresh(`${name}/nhwc`)],
                [{ name: 'perm', ints: [0, 2, 3, 1] }],
              )
            : x;
        y = g.node('Flatten', [nhwc], [g.fresh(name)], [{ name: 'axis', int: 1 }]);
        break;
      }
      case 'GlobalAveragePooling2D':
        y = g.node(
          'ReduceMean',
          [x],
          [g.fresh(name)],
          [
            { name: 'axes', ints: [2, 3] },
            { name: 'keepdims', int: 0 },
          ],
        );
        break;
      default:
        y = fail(`layer '${name}' (${cls}) is not supported`);
    }
    out.set(name, y);
  }
  const last = model.layers[model.layers.length - 1].name;
  const result = out.get(last) as string;
  const outShape = (model.outputs[0].shape as (number | null)[]).slice(1) as number[];
  if (outShape.length !== 1) fail('the output must be rank 2 [batch, classes]');
  g.node('Identity', [result], ['output']);
  const bytes = encodeOnnxModel({
    graphName: model.name,
    nodes: g.nodes,
    initializers: g.inits,
    inputs: [{ name: input, elemType: ONNX_FLOAT, shape: ['batch', ...inShape] }],
    outputs: [{ name: 'output', elemType: ONNX_FLOAT, shape: ['batch', ...outShape] }],
    opsets: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    producer: PRODUCER,
    metadata: options.metadata,
  });
  return { bytes, tensors: report };
}
