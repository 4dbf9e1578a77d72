/**
 * Grouping: which weights share one level set Q.
 *
 * Every quantizer and prox map works on a 3-D *view* `[A, M, C]` of a weight
 * tensor: the `A * C` groups each hold `M` members along axis 1, and each group
 * gets its own levels, stored as `[A, k, C]` (levels along axis 1, ascending).
 * The view is a plain reshape (no transpose), so it costs nothing per step:
 *
 * - per tensor:             `[1, n, 1]`
 * - per channel, last axis  (tfjs kernels `[in, out]`, `[kh, kw, in, out]`): `[1, rest, out]`
 * - per channel, first axis (PyTorch layout `[out, in]`): `[out, rest, 1]`
 * - per block of `blockSize` consecutive weights inside a channel:
 *   last axis `[rest / blockSize, blockSize, out]`, first axis `[out * rest / blockSize, blockSize, 1]`
 */
import * as tf from '@tensorflow/tfjs';

/** How weights are grouped into level sets. */
export type Granularity =
  | { kind: 'tensor' }
  | { kind: 'channel'; axis?: number }
  | { kind: 'block'; blockSize: number; axis?: number };

/** The resolved 3-D view of one weight tensor. */
export interface GroupView {
  /** The weight tensor's own shape. */
  readonly shape: readonly number[];
  /** `[A, M, C]`: groups are `A * C`, members per group `M`. */
  readonly view: [number, number, number];
  readonly numGroups: number;
  readonly groupSize: number;
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Shorthand constructors. */
export const perTensor = (): Granularity => ({ kind: 'tensor' });
export const perChannel = (axis = -1): Granularity => ({ kind: 'channel', axis });
export const perBlock = (blockSize: number, axis = -1): Granularity => ({
  kind: 'block',
  blockSize,
  axis,
});

/** A shape that a granularity cannot split (the message names the tensor). */
export class GroupingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GroupingError';
  }
}

/**
 * Resolve the view of a tensor of `shape` under `granularity`. `what` names the
 * tensor in error messages. Rank-1 tensors (biases) are always grouped per tensor
 * for `channel` (as the reference does), and blocks run along them.
 */
export function groupView(
  shape: readonly number[],
  granularity: Granularity,
  what = 'tensor',
): GroupView {
  const n = prod(shape);
  if (n === 0)
    throw new GroupingError(`${what}: cannot quantize an empty tensor (shape [${shape}])`);
  const make = (view: [number, number, number]): GroupView => ({
    shape: [...shape],
    view,
    numGroups: view[0] * view[2],
    groupSize: view[1],
  });
  if (granularity.kind === 'tensor' || (granularity.kind === 'channel' && shape.length < 2)) {
    return make([1, n, 1]);
  }
  const rank = shape.length;
  const rawAxis = granularity.axis ?? -1;
  const axis = rank === 1 ? 0 : rawAxis < 0 ? rank + rawAxis : rawAxis;
  if (axis !== 0 && axis !== rank - 1) {
    throw new GroupingError(
      `${what}: channel axis ${rawAxis} must be the first or the last axis of shape [${shape}]`,
    );
  }
  const channels = shape[axis];
  const rest = n / channels;
  if (granularity.kind === 'channel') {
    return make(axis === 0 ? [channels, rest, 1] : [1, rest, channels]);
  }
  const bs = granularity.blockSize;
  if (!Number.isInteger(bs) || bs < 1) {
    throw new GroupingError(`${what}: blockSize must be a positive integer, got ${bs}`);
  }
  if (rank === 1) {
    if (n % bs !== 0)
      throw new GroupingError(`${what}: size ${n} is not divisible by blockSize ${bs}`);
    return make([n / bs, bs, 1]);
  }
  if (rest % bs !== 0) {
    throw new GroupingError(
      `${what}: ${rest} weights per channel (shape [${shape}]) are not divisible by blockSize ${bs}`,
    );
  }
  return make(axis === 0 ? [(channels * rest) / bs, bs, 1] : [rest / bs, bs, channels]);
}

/** Levels `[A, k, C]` as one row per group, `[A * C, k]` (group order: a-major). */
export function levelsToRows(Q: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const [a, k, c] = Q.shape;
    return tf.reshape(tf.transpose(Q, [0, 2, 1]), [a * c, k]);
  });
}

/** Inverse of {@link levelsToRows}. */
export function rowsToLevels(rows: tf.Tensor2D, g: GroupView): tf.Tensor3D {
  return tf.tidy(() => {
    const [a, , c] = g.view;
    const k = rows.shape[1];
    return tf.transpose(tf.reshape(rows, [a, c, k]), [0, 2, 1]) as tf.Tensor3D;
  });
}
