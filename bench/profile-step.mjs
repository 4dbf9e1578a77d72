// Where one training step goes on the wasm backend, kernel by kernel (issue 14).
// Builds parq-ts's LeNet-5 and ResNet-20 (src/models), batch 64, and profiles one
// momentum-SGD step (forward, backward, update: optimizer.minimize, as src/train/run.ts)
// after warm-up steps. Each wasm kernel is wrapped with a timer that measures its
// own call in CPU time of this process (process.cpuUsage: the machine may be shared), only
// the outermost kernel (a kernel that calls others inside counts once, as itself). Prints,
// per model, the kernels grouped by name with their share of the step, sorted by time;
// also the whole step's CPU time (the rest: JavaScript outside kernels: tape, gradients,
// layers). Convolution kernels also get their multiply-adds per CPU-second (GMAC/s).
// --simd: also each function of the SIMD module (src/backend/wasm/simd/kernels.wat) on its
// own, calls and wall ms a step (the kernels above include them).
// Usage (after `npm run build`):
//   node bench/profile-step.mjs [--models lenet5,resnet20] [--batch 64] [--steps 3] [--qat]
//                               [--stock] [--no-simd] [--simd] [--simd128] [--threads 1]
// The SIMD kernels run relaxed (as the CLI runs them); --simd128: the SIMD128 module.
// --qat: QuantOptimizer (PARQ prox, 2-bit LSBQ) instead of plain momentum SGD.
// --stock: the stock wasm kernels (only the missing Conv2DBackpropFilter added).
// --no-simd: parq-ts's kernels without their WebAssembly SIMD paths (src/backend/wasm/simd):
// the filter gradient on XNNPACK (conv / im2col), Sum and Mean stock.
import * as tf from '@tensorflow/tfjs';
import * as parq from '../dist/index.js';
import { selectBackend } from '../dist/backend/select.js';
import { wasmSimdInUse } from '../dist/backend/wasm/simd/index.js';
import { restoreStockWasmKernels } from '../dist/backend/wasm/register.js';
import { buildModel, logitsModel } from '../dist/models/index.js';
import { simdKernelsSwitch } from '../dist/backend/wasm/simd/index.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const models = opt('models', 'lenet5,resnet20').split(',');
const batch = Number(opt('batch', '64'));
const steps = Number(opt('steps', '3'));
const qat = args.includes('--qat');
const stock = args.includes('--stock');
const threads = Number(opt('threads', '1'));
if (args.includes('--no-simd')) simdKernelsSwitch.enabled = false;
/** Wall time and calls of each SIMD module function (--simd), while counting. */
const simdTimes = new Map();
if (args.includes('--simd')) {
  simdKernelsSwitch.wrap = (kernels) => {
    const timed = {};
    for (const [name, f] of Object.entries(kernels)) {
      if (typeof f !== 'function') continue;
      timed[name] = (...a) => {
        if (!counting) return f(...a);
        const t0 = performance.now();
        try {
          return f(...a);
        } finally {
          const e = simdTimes.get(name) ?? { ms: 0, calls: 0 };
          e.ms += performance.now() - t0;
          e.calls++;
          simdTimes.set(name, e);
        }
      };
    }
    return timed;
  };
}

const sel = await selectBackend('wasm', {
  threads,
  fastKernels: !stock,
  simd: args.includes('--simd128') ? 'simd128' : 'relaxed',
});
if (stock) restoreStockWasmKernels();
if (sel.notice) console.log(`notice: ${sel.notice}`);
console.log(`SIMD kernels: ${wasmSimdInUse() ?? 'none'}`);

const SHAPES = { mlp: [784], lenet5: [28, 28, 1], resnet20: [32, 32, 3] };

function makeOptimizer() {
  const base = tf.train.momentum(0.01, 0.9);
  if (!qat) return base;
  return new parq.QuantOptimizer({
    base,
    quantizer: parq.quantizerByName('lsbq', 2),
    prox: new parq.ProxPARQ({ annealStart: 0, annealEnd: 1000 }),
    bits: 2,
    quantPeriod: 10,
  });
}

/**
 * Multiply-adds of a convolution kernel call (forward, input or filter gradient: the same
 * count, dy's size x filter height x width x input channels), or 0 for other kernels.
 */
function convMacs(name, { inputs, attrs }) {
  if (name === 'Conv2D' || name === 'FusedConv2D') {
    const { x, filter } = inputs;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filter.shape,
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    return (
      tf.util.sizeFromShape(info.outShape) * filter.shape[0] * filter.shape[1] * filter.shape[2]
    );
  }
  if (name === 'Conv2DBackpropInput') {
    const { dy, filter } = inputs;
    return tf.util.sizeFromShape(dy.shape) * filter.shape[0] * filter.shape[1] * filter.shape[2];
  }
  if (name === 'Conv2DBackpropFilter') {
    const f = attrs.filterShape;
    return tf.util.sizeFromShape(inputs.dy.shape) * f[0] * f[1] * f[2];
  }
  return 0;
}

/** Wraps every wasm kernel with a CPU-time counter (outermost calls only). */
const times = new Map();
let depth = 0;
let counting = false;
for (const k of tf.getKernelsForBackend('wasm')) {
  const inner = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({
    ...k,
    kernelFunc: (a) => {
      if (depth > 0 || !counting) return inner(a);
      depth++;
      const c0 = process.cpuUsage();
      try {
        return inner(a);
      } finally {
        const c = process.cpuUsage(c0);
        depth--;
        const e = times.get(k.kernelName) ?? { us: 0, calls: 0, macs: 0 };
        e.us += c.user + c.system;
        e.calls++;
        e.macs += convMacs(k.kernelName, a);
        times.set(k.kernelName, e);
      }
    },
  });
}

for (const name of models) {
  const model = buildModel(name, { inputShape: SHAPES[name], numClasses: 10, seed: 0 });
  const net = logitsModel(model);
  const optimizer = makeOptimizer();
  const x = tf.randomNormal([batch, ...SHAPES[name]], 0, 1, 'float32', 7);
  const y = tf.randomUniform([batch], 0, 10, 'int32', 8);
  const step = () =>
    tf.tidy(() => {
      optimizer.minimize(() => {
        const logits = net.apply(x, { training: true });
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logits);
      });
    });
  for (let i = 0; i < 3; i++) step();
  times.clear();
  simdTimes.clear();
  counting = true;
  const c0 = process.cpuUsage();
  for (let s = 0; s < steps; s++) step();
  const c = process.cpuUsage(c0);
  counting = false;
  const stepMs = (c.user + c.system) / 1000 / steps;
  const rows = [...times.entries()].sort((a, b) => b[1].us - a[1].us);
  const kernelMs = rows.reduce((t, [, e]) => t + e.us, 0) / 1000 / steps;
  console.log(
    `\n${name}, batch ${batch}, ${qat ? 'QAT (PARQ, 2-bit LSBQ)' : 'momentum SGD'}, ` +
      `${stock ? 'stock kernels' : 'parq-ts kernels'}${simdKernelsSwitch.enabled ? '' : ' without SIMD'}, ` +
      `${threads} thread(s): ` +
      `step ${stepMs.toFixed(1)} ms CPU, kernels ${kernelMs.toFixed(1)} ms, mean of ${steps} steps`,
  );
  console.log('| kernel | calls/step | ms/step | share of step | GMAC/s (convolutions) |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const row = (k, calls, ms, macs = 0) =>
    console.log(
      `| ${k} | ${calls} | ${ms.toFixed(2)} | ${((100 * ms) / stepMs).toFixed(1)}% | ` +
        `${macs > 0 ? (macs / steps / ms / 1e6).toFixed(1) : ''} |`,
    );
  let otherMs = 0;
  for (const [k, e] of rows) {
    const ms = e.us / 1000 / steps;
    if (ms / stepMs < 0.005) otherMs += ms;
    else row(k, (e.calls / steps).toFixed(0), ms, e.macs);
  }
  row('other kernels (< 0.5% each)', '', otherMs);
  row('outside kernels (JavaScript)', '', stepMs - kernelMs);
  if (simdTimes.size > 0) {
    console.log('\n| SIMD function | calls/step | wall ms/step |');
    console.log('| --- | ---: | ---: |');
    for (const [k, e] of [...simdTimes.entries()].sort((a, b) => b[1].ms - a[1].ms)) {
      console.log(`| ${k} | ${(e.calls / steps).toFixed(0)} | ${(e.ms / steps).toFixed(2)} |`);
    }
  }
  tf.dispose([x, y]);
  model.dispose();
}
