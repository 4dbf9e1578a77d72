// The wasm kernels of a LeNet-5 training step on their own, at batch 64 (issue 14): each
// kernel on the layer shapes of src/models/lenet5.ts (conv1 1 -> 6 channels 5x5 'same' on
// 28x28, conv2 6 -> 16 5x5 'valid' on 14x14, 2x2 max pools, the conv biases), parq-ts's
// kernel beside the stock wasm kernel it replaces (restoreStockWasmKernels; the filter
// gradient has no stock kernel), each case parq-ts then stock. CPU time of this process per call (process.cpuUsage),
// mean over --reps calls after warm-up.
// Usage (after `npm run build`): node bench/lenet-kernels.mjs [--reps 100] [--batch 64]
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../dist/backend/select.js';
import { replaceSlowWasmKernels, restoreStockWasmKernels } from '../dist/backend/wasm/register.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const reps = opt('reps', 100);
const n = opt('batch', 64);
await selectBackend('wasm', { threads: 1 });

function msPerCall(f) {
  for (let i = 0; i < Math.max(3, reps / 10); i++) tf.dispose(f());
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) tf.dispose(f());
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / reps / 1000;
}

const conv = (name, xs, ws, pad) => {
  const x = tf.randomNormal(xs);
  const w = tf.randomNormal(ws);
  const dy = tf.randomNormal(tf.conv2d(x, w, 1, pad).shape);
  const attrs = { strides: [1, 1], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  return [
    [`${name} Conv2D`, () => tf.conv2d(x, w, 1, pad)],
    [
      `${name} Conv2DBackpropFilter`,
      () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: ws }),
    ],
    [
      `${name} Conv2DBackpropInput`,
      () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: xs }),
    ],
  ];
};
const pool = (name, xs) => {
  const x = tf.randomNormal(xs);
  const y = tf.maxPool(x, 2, 2, 'valid');
  const dy = tf.randomNormal(y.shape);
  const bias = tf.randomNormal([xs[3]]);
  return [
    [
      `${name} MaxPoolGrad`,
      () =>
        tf
          .engine()
          .runKernel(
            'MaxPoolGrad',
            { dy, input: x, output: y },
            { filterSize: 2, strides: 2, pad: 'valid' },
          ),
    ],
    [`${name} Add (bias)`, () => tf.add(x, bias)],
  ];
};
const cases = [
  ...conv('conv1', [n, 28, 28, 1], [5, 5, 1, 6], 'same'),
  ...conv('conv2', [n, 14, 14, 6], [5, 5, 6, 16], 'valid'),
  ...pool('pool1 / conv1 bias', [n, 28, 28, 6]),
  ...pool('pool2 / conv2 bias', [n, 10, 10, 16]),
];
// Each case as parq-ts then stock, back to back (so drifting load hits both alike).
const ours = [];
const stock = [];
for (const [name, f] of cases) {
  replaceSlowWasmKernels();
  ours.push(msPerCall(f));
  restoreStockWasmKernels();
  stock.push(name.endsWith('Conv2DBackpropFilter') ? null : msPerCall(f));
}
replaceSlowWasmKernels();
console.log(`batch ${n}, ${reps} calls each, ms of CPU per call`);
console.log('| kernel | parq-ts | stock wasm | stock / parq-ts |');
console.log('| --- | ---: | ---: | ---: |');
cases.forEach(([name], i) => {
  const s = stock[i];
  console.log(
    `| ${name} | ${ours[i].toFixed(2)} | ${s === null ? '(none)' : s.toFixed(2)} | ${s === null ? '' : (s / ours[i]).toFixed(1) + 'x'} |`,
  );
});
