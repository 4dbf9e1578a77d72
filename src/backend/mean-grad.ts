// The gradient of Mean without a tensor of ones. tfjs-core's is
// `(reshape(dy, kept) * ones(x.shape)) / n`: a JavaScript array of x's size filled with ones
// and uploaded to the backend on every backward pass (1 MB for ResNet-20's global average
// pooling at batch 64; a copy over the bus on webgl/webgpu), then two passes over it. This
// one divides the small dy by n first and broadcasts the quotient to x's shape (tf.broadcastTo:
// one Tile). The values are the same bit for bit: multiplying by one is exact, and each
// element is then the same float32 division of the same dy element.
import * as tf from '@tensorflow/tfjs';

/** dx of `mean(x, axis)` for the upstream gradient dy (dy has the reduced shape). */
export function meanGrad(dy: tf.Tensor, xShape: number[], axis: number | number[]): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis, xShape);
  const kept = xShape.slice();
  let n = 1;
  for (const a of axes) {
    kept[a] = 1;
    n *= xShape[a];
  }
  return tf.tidy(() => tf.broadcastTo(tf.div(tf.reshape(dy, kept), n), xShape));
}

tf.registerGradient({
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { axis } = attrs as unknown as { axis: number | number[] };
    return { x: () => meanGrad(dy as tf.Tensor, x.shape, axis) };
  },
});
