// The Winograd F(2x2, 3x3) forward convolution (src/backend/wasm/winograd.ts) against the
// stock wasm kernel (XNNPACK) on the 3x3 stride-1 'same' shapes of ResNet-20 (batch 64) and a
// few others: CPU milliseconds per tf.fused.conv2d call (process.cpuUsage, the machine may be
// shared), the best and the median of --reps repeats, each a mean over --calls calls.
// The Winograd columns call winogradConv3x3 itself with F(2x2, 3x3) and F(4x4, 3x3) tiles
// (also below the channels where the replaced kernels use it: the last column says whether
// they do, and which tile winogradTile picks).
// Then the stride-1 input gradient of ResNet-20's shapes: parq-ts's Conv2DBackpropInput kernel
// (what a training step runs now) against winogradInputGrad3x3 with either tile.
// Usage (after `npm run build`): node bench/winograd.mjs [--reps 7] [--calls 5] [--shapes all]
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../dist/backend/select.js';
import { replaceSlowWasmKernels, restoreStockWasmKernels } from '../dist/backend/wasm/register.js';
import {
  winogradApplies,
  winogradConv3x3,
  winogradInputGrad3x3,
  winogradTile,
} from '../dist/backend/wasm/winograd.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const reps = Number(opt('reps', '7'));
const calls = Number(opt('calls', '5'));
// [batch, height, width, in channels, out channels]
const RESNET = [
  [64, 32, 32, 16, 16],
  [64, 16, 16, 32, 32],
  [64, 8, 8, 64, 64],
];
const OTHERS = [
  [64, 32, 32, 3, 16],
  [64, 32, 32, 4, 16],
  [64, 32, 32, 6, 8],
  [64, 32, 32, 8, 8],
  [64, 32, 32, 12, 16],
  [64, 16, 16, 9, 16],
  [64, 16, 16, 17, 17],
  [64, 16, 16, 16, 32],
  [1, 32, 32, 16, 16],
  [64, 7, 7, 64, 64],
  [64, 12, 12, 32, 32],
  [64, 24, 24, 16, 16],
];
const shapes = opt('shapes', 'all') === 'resnet' ? RESNET : [...RESNET, ...OTHERS];

await selectBackend('wasm', { threads: 1, fastKernels: true });
restoreStockWasmKernels(); // tf.fused.conv2d below is XNNPACK's
const backend = tf.backend();

function seeded(n, seed) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** CPU ms per call: [best, median] over reps. */
function time(f) {
  tf.dispose(f());
  const ms = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) tf.dispose(f());
    const c = process.cpuUsage(c0);
    ms.push((c.user + c.system) / 1000 / calls);
  }
  ms.sort((a, b) => a - b);
  return [ms[0], ms[Math.floor(ms.length / 2)]];
}

const fmt = ([best, med]) => `${best.toFixed(2)} (${med.toFixed(2)})`;
console.log(
  'shape (NHWC -> K), 3x3 same, bias + relu | stock XNNPACK ms | F(2x2) ms | F(4x4) ms | ' +
    'F(4x4) vs F(2x2) | best vs stock | used',
);
for (const [n, h, w, c, k] of shapes) {
  const x = tf.tensor4d(seeded(n * h * w * c, 1), [n, h, w, c]);
  const filter = tf.tensor4d(seeded(9 * c * k, 2), [3, 3, c, k]);
  const bias = tf.tensor1d(seeded(k, 3));
  const f = () => tf.fused.conv2d({ x, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, 1, 1, 'same');
  const g = (tile) => () =>
    tf
      .engine()
      .makeTensorFromTensorInfo(winogradConv3x3(backend, x, filter, info, bias, true, tile));
  const stock = time(f);
  const w2 = time(g(2));
  const w4 = time(g(4));
  const used = winogradApplies(info) ? `yes, F(${winogradTile(info)})` : 'no';
  console.log(
    `[${n},${h},${w},${c}] -> ${k} | ${fmt(stock)} | ${fmt(w2)} | ${fmt(w4)} | ` +
      `${(w2[0] / w4[0]).toFixed(2)}x | ${(stock[0] / Math.min(w2[0], w4[0])).toFixed(2)}x | ${used}`,
  );
  tf.dispose([x, filter, bias]);
}
console.log('(best of the repeats; the median in parentheses)');

replaceSlowWasmKernels();
console.log(
  '\ninput gradient (NHWC -> K), 3x3 same | F(2x2) ms | F(4x4) ms | F(4x4) vs F(2x2) | ' +
    'Conv2DBackpropInput kernel ms (uses F(winogradTile))',
);
for (const [n, h, w, c, k] of RESNET) {
  const dy = tf.tensor4d(seeded(n * h * w * k, 4), [n, h, w, k]);
  const filter = tf.tensor4d(seeded(9 * c * k, 5), [3, 3, c, k]);
  const info = tf.backend_util.computeConv2DInfo([n, h, w, c], filter.shape, 1, 1, 'same');
  const kernel = time(() => tf.conv2dTranspose(dy, filter, [n, h, w, c], 1, 'same'));
  const g = (tile) => () =>
    tf.engine().makeTensorFromTensorInfo(winogradInputGrad3x3(backend, dy, filter, info, tile));
  const w2 = time(g(2));
  const w4 = time(g(4));
  console.log(
    `[${n},${h},${w},${c}] -> ${k} | ${fmt(w2)} | ${fmt(w4)} | ` +
      `${(w2[0] / w4[0]).toFixed(2)}x | ${fmt(kernel)}`,
  );
  tf.dispose([dy, filter]);
}
