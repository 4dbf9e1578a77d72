/**
 * The name map from a PyTorch state dict to a parq-ts (tfjs) model, derived from the model's layers:
 * a PyTorch module whose attributes are named like the model's layers has these keys.
 *
 * | tfjs layer           | tfjs weight                   | PyTorch key                  | layout change |
 * | -------------------- | ----------------------------- | ---------------------------- | ------------- |
 * | Dense `L`            | `L/kernel` `[in, out]`        | `L.weight` `[out, in]`       | transpose     |
 * |                      | `L/bias` `[out]`              | `L.bias`                     |               |
 * | Conv2D `L`           | `L/kernel` `[kh, kw, in, out]`| `L.weight` `[out, in, kh, kw]` | permute (2, 3, 1, 0) |
 * |                      | `L/bias`                      | `L.bias`                     |               |
 * | BatchNormalization `L` | `L/gamma`, `L/beta`         | `L.weight`, `L.bias`         |               |
 * |                      | `L/moving_mean`, `L/moving_variance` | `L.running_mean`, `L.running_var` | |
 *
 * | LayerNorm `L` (ViT)   | `L/gamma`, `L/beta` `[d]`     | `L.weight`, `L.bias`         |               |
 * | ClassToken `L` (ViT)  | `L/token` `[1, 1, d]`         | `L` (a parameter) `[1, 1, d]` |              |
 * | PositionEmbedding `L` | `L/embedding` `[T, d]`        | `L` (a parameter) `[1, T, d]` | same values  |
 *
 * `L.num_batches_tracked` is accepted and ignored. A Dense layer fed by a Flatten of an image
 * `[H, W, C]` with `C > 1` (LeNet-5's fc1) also reorders its input rows, since PyTorch flattens
 * NCHW (`c, h, w`) and tfjs NHWC (`h, w, c`). The ViT's per-block layers `block{i}_X` are a
 * ModuleList's `blocks.{i}.X` in PyTorch (see `torchModuleName`).
 */
import type * as tf from '@tensorflow/tfjs';

/** How one PyTorch tensor becomes one tfjs weight. */
export type TorchLayout =
  { kind: 'same' } | { kind: 'linear'; flatten?: [number, number, number] } | { kind: 'conv2d' };

/** One entry of the map. */
export interface TorchNameEntry {
  /** The tfjs weight's name, e.g. `fc1/kernel`. */
  tfName: string;
  /** Its index in `model.weights`. */
  index: number;
  /** The PyTorch key, e.g. `fc1.weight`. */
  torchName: string;
  /** The tfjs shape. */
  shape: number[];
  /** The shape the PyTorch tensor must have. */
  torchShape: number[];
  layout: TorchLayout;
  /** True for Dense / Conv kernels: the tensors QAT quantizes. */
  isKernel: boolean;
}

/** PyTorch keys that carry no weight of the tfjs model and are ignored. */
export const IGNORED_TORCH_SUFFIXES = ['.num_batches_tracked'];

const BN_NAMES: Record<string, string> = {
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

/**
 * The PyTorch module path of a tfjs layer: the ViT's `block{i}_X` (src/models/vit.ts) is
 * `blocks.{i}.X` (an `nn.ModuleList` named `blocks` of modules with attributes `norm1`,
 * `attn_q`, ..., `mlp_fc2`); every other layer name is its module attribute unchanged.
 */
export function torchModuleName(layerName: string): string {
  const m = /^block(\d+)_(.+)$/.exec(layerName);
  return m ? `blocks.${m[1]}.${m[2]}` : layerName;
}

/** The input shape `[H, W, C]` of the Flatten feeding `layer`, when it is an image with C > 1. */
function flattenedImage(layer: tf.layers.Layer): [number, number, number] | undefined {
  const inbound = (layer as unknown as { inboundNodes?: { inboundLayers: tf.layers.Layer[] }[] })
    .inboundNodes;
  const prev = inbound?.[0]?.inboundLayers?.[0];
  if (!prev || prev.getClassName() !== 'Flatten') return undefined;
  const shape = (prev.input as tf.SymbolicTensor).shape;
  if (shape.length !== 4) return undefined;
  const [, h, w, c] = shape as number[];
  return c > 1 ? [h, w, c] : undefined;
}

/** The PyTorch name map of every weight of `model`, in `model.weights` order. */
export function torchNameMap(model: tf.LayersModel): TorchNameEntry[] {
  const index = new Map(model.weights.map((w, i) => [w.originalName, i]));
  const out: TorchNameEntry[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const module = torchModuleName(layer.name);
    for (const w of layer.weights) {
      const tfName = w.originalName;
      const suffix = tfName.slice(tfName.lastIndexOf('/') + 1);
      const shape = [...w.shape] as number[];
      const base = { tfName, index: index.get(tfName) as number, shape };
      if ((cls === 'Dense' || cls === 'Conv2D') && (suffix === 'kernel' || suffix === 'bias')) {
        const torchName = `${module}.${suffix === 'kernel' ? 'weight' : 'bias'}`;
        if (suffix === 'bias') {
          out.push({
            ...base,
            torchName,
            torchShape: shape,
            layout: { kind: 'same' },
            isKernel: false,
          });
        } else if (cls === 'Dense') {
          const flatten = flattenedImage(layer);
          out.push({
            ...base,
            torchName,
            torchShape: [shape[1], shape[0]],
            layout: flatten ? { kind: 'linear', flatten } : { kind: 'linear' },
            isKernel: true,
          });
        } else {
          const [kh, kw, i, o] = shape;
          out.push({
            ...base,
            torchName,
            torchShape: [o, i, kh, kw],
            layout: { kind: 'conv2d' },
            isKernel: true,
          });
        }
      } else if (cls === 'BatchNormalization' && BN_NAMES[suffix]) {
        out.push({
          ...base,
          torchName: `${module}.${BN_NAMES[suffix]}`,
          torchShape: shape,
          layout: { kind: 'same' },
          isKernel: false,
        });
      } else if (cls === 'ParqLayerNorm' && (suffix === 'gamma' || suffix === 'beta')) {
        out.push({
          ...base,
          torchName: `${module}.${suffix === 'gamma' ? 'weight' : 'bias'}`,
          torchShape: shape,
          layout: { kind: 'same' },
          isKernel: false,
        });
      } else if (
        (cls === 'ParqClassToken' && suffix === 'token') ||
        (cls === 'ParqPositionEmbedding' && suffix === 'embedding')
      ) {
        // an nn.Parameter attribute; PyTorch's pos_embed has a leading batch axis of 1
        out.push({
          ...base,
          torchName: module,
          torchShape: cls === 'ParqPositionEmbedding' ? [1, ...shape] : shape,
          layout: { kind: 'same' },
          isKernel: false,
        });
      } else {
        throw new Error(
          `import: no PyTorch name for weight '${tfName}' of a ${cls} layer (supported: Dense, Conv2D, BatchNormalization and the ViT's LayerNorm, ClassToken, PositionEmbedding)`,
        );
      }
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

/** PyTorch values (row-major in `torchShape`) rearranged into the tfjs layout of `entry`. */
export function torchToTfjs(entry: TorchNameEntry, values: Float32Array): Float32Array {
  const { layout, shape } = entry;
  if (layout.kind === 'same') return values;
  const out = new Float32Array(values.length);
  if (layout.kind === 'linear') {
    const [inDim, outDim] = shape;
    // tfjs row r (NHWC flatten index h, w, c) is PyTorch column (c, h, w) when flattened from an image.
    const col = new Int32Array(inDim);
    if (layout.flatten) {
      const [h, w, c] = layout.flatten;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let k = 0; k < c; k++) col[(y * w + x) * c + k] = (k * h + y) * w + x;
    } else for (let r = 0; r < inDim; r++) col[r] = r;
    for (let r = 0; r < inDim; r++) {
      const src = col[r];
      for (let o = 0; o < outDim; o++) out[r * outDim + o] = values[o * inDim + src];
    }
    return out;
  }
  const [kh, kw, cin, cout] = shape;
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          out[((y * kw + x) * cin + i) * cout + o] = values[((o * cin + i) * kh + y) * kw + x];
  return out;
}
