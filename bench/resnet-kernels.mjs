// The convolution kernels of a ResNet-20 training step on their own, at batch 64 (issue 14):
// each convolution shape of src/models/resnet20.ts ('same' padding: the 3x3 stem 3 -> 16 on
// 32x32, the 3x3 16 -> 16 on 32x32, the stride-2 3x3 16 -> 32 and 32 -> 64 and their 1x1
// stride-2 projections, the 3x3 32 -> 32 on 16x16 and 64 -> 64 on 8x8), forward, input
// gradient and filter gradient, every formulation parq-ts has beside the default it picks
// (and the stock wasm input gradient with --stock; the Winograd filter gradient with each
// tile, F(2x2, 3x3) and F(4x4, 3x3)). CPU time of this process per call
// (process.cpuUsage), the best of --rounds means over --reps calls after warm-up, the
// formulations of a shape interleaved round by round (so drifting load hits all alike).
// Usage (after `npm run build`):
//   node bench/resnet-kernels.mjs [--reps 20] [--rounds 3] [--batch 64] [--stock]
//                                 [--only 16x16x32] [--pass filter]
// (--pass: only the rows whose pass contains it: forward, input, filter.)
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../dist/backend/select.js';
import { restoreStockWasmKernels, replaceSlowWasmKernels } from '../dist/backend/wasm/register.js';
import {
  conv2dBackpropInputNHWC,
  inputGradMethodFor,
} from '../dist/backend/wasm/conv2d-backprop-input.js';
import {
  conv2dBackpropFilterNHWC,
  filterGradMethodFor,
} from '../dist/backend/wasm/conv2d-backprop-filter.js';
import {
  winogradFilterGrad3x3,
  winogradFilterGradApplies,
  winogradFilterGradTile,
} from '../dist/backend/wasm/winograd-filter-grad.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const reps = Number(opt('reps', '20'));
const rounds = Number(opt('rounds', '3'));
const n = Number(opt('batch', '64'));
const only = opt('only', '');
const withStock = args.includes('--stock');
const pass = opt('pass', '');
await selectBackend('wasm', { threads: 1 });
const backend = tf.backend();

const SHAPES = [
  { name: 'stem 32x32x3 -> 16 3x3 s1', x: [n, 32, 32, 3], f: [3, 3, 3, 16], s: 1 },
  { name: '32x32x16 -> 16 3x3 s1', x: [n, 32, 32, 16], f: [3, 3, 16, 16], s: 1 },
  { name: '32x32x16 -> 32 3x3 s2', x: [n, 32, 32, 16], f: [3, 3, 16, 32], s: 2 },
  { name: '32x32x16 -> 32 1x1 s2', x: [n, 32, 32, 16], f: [1, 1, 16, 32], s: 2 },
  { name: '16x16x32 -> 32 3x3 s1', x: [n, 16, 16, 32], f: [3, 3, 32, 32], s: 1 },
  { name: '16x16x32 -> 64 3x3 s2', x: [n, 16, 16, 32], f: [3, 3, 32, 64], s: 2 },
  { name: '16x16x32 -> 64 1x1 s2', x: [n, 16, 16, 32], f: [1, 1, 32, 64], s: 2 },
  { name: '8x8x64 -> 64 3x3 s1', x: [n, 8, 8, 64], f: [3, 3, 64, 64], s: 1 },
];

/** ms of CPU per call of f (its result disposed), the best of `rounds` interleaved means. */
function timeAll(fs) {
  for (const f of fs) for (let i = 0; i < 3; i++) f();
  const best = fs.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    fs.forEach((f, k) => {
      const c0 = process.cpuUsage();
      for (let i = 0; i < reps; i++) f();
      const c = process.cpuUsage(c0);
      best[k] = Math.min(best[k], (c.user + c.system) / reps / 1000);
    });
  }
  return best;
}

const dropInfo = (info) => () => backend.disposeData(info.dataId);

console.log(
  `batch ${n}, ${reps} calls x best of ${rounds} rounds, ms of CPU per call; * = the default`,
);
console.log('| shape | pass | formulation | ms/call | GFLOP/s |');
console.log('| --- | --- | --- | ---: | ---: |');
for (const s of SHAPES) {
  if (only && !s.name.includes(only)) continue;
  const x = tf.randomNormal(s.x);
  const w = tf.randomNormal(s.f);
  const info = tf.backend_util.computeConv2DInfo(s.x, s.f, s.s, 1, 'same', undefined, false);
  const dy = tf.randomNormal([n, info.outHeight, info.outWidth, s.f[3]]);
  const gflop = (2 * n * info.outHeight * info.outWidth * s.f.reduce((a, b) => a * b)) / 1e9;
  const rows = [];
  const fwd = () => tf.dispose(tf.conv2d(x, w, s.s, 'same'));
  rows.push(['forward', 'XNNPACK (stock Conv2D)', fwd]);
  if (s.f[2] > 3) {
    const def = inputGradMethodFor(info);
    for (const m of ['conv', 'simd', 'phase']) {
      const f = () => dropInfo(conv2dBackpropInputNHWC(backend, dy, w, info, m))();
      rows.push(['input grad', m + (m === def ? ' *' : ''), f]);
    }
    if (withStock) {
      const attrs = { strides: s.s, pad: 'same', dataFormat: 'NHWC', inputShape: s.x };
      rows.push([
        'input grad',
        'stock wasm',
        () => {
          restoreStockWasmKernels();
          tf.dispose(tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, attrs));
          replaceSlowWasmKernels();
        },
      ]);
    }
  }
  const defF = filterGradMethodFor(info);
  if (winogradFilterGradApplies(info)) {
    for (const tile of [2, 4]) {
      const f = () => dropInfo(winogradFilterGrad3x3(backend, x, dy, info, tile))();
      const isDefault = defF === 'winograd' && winogradFilterGradTile(info) === tile;
      rows.push(['filter grad', `winograd F(${tile}x${tile})` + (isDefault ? ' *' : ''), f]);
    }
  }
  for (const m of ['simd', 'conv', 'im2col']) {
    const f = () => dropInfo(conv2dBackpropFilterNHWC(backend, x, dy, info, m))();
    rows.push(['filter grad', m + (m === defF ? ' *' : ''), f]);
  }
  const kept = rows.filter((r) => r[0].includes(pass));
  if (kept.length === 0) {
    tf.dispose([x, w, dy]);
    continue;
  }
  const ms = timeAll(kept.map((r) => r[2]));
  kept.forEach(([pass, m], k) => {
    console.log(
      `| ${s.name} | ${pass} | ${m} | ${ms[k].toFixed(2)} | ${(gflop / (ms[k] / 1000)).toFixed(1)} |`,
    );
  });
  tf.dispose([x, w, dy]);
}
