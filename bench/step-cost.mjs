// CPU milliseconds per training step (float, Adam, batch 64, 28x28x1 inputs, 10 classes) of
// the built-in vit-tiny and lenet5 on a backend, by the process's CPU time (steadier than wall
// time on a loaded machine); also the top kernels of one step by tf.profile.
//   npm run build && node bench/step-cost.mjs [--backend wasm] [--models vit-tiny,lenet5] [--steps 5]
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../dist/backend/index.js';
import { buildModel } from '../dist/models/index.js';

const args = process.argv.slice(2);
const flag = (name, dflt) =>
  args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt;
const backend = flag('backend', 'wasm');
const steps = Number(flag('steps', '5'));
await selectBackend(backend);
for (const name of flag('models', 'vit-tiny,lenet5').split(',')) {
  const model = buildModel(name, { inputShape: [28, 28, 1], numClasses: 10 });
  const opt = tf.train.adam(1e-3);
  const x = tf.randomUniform([64, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      [...Array(64)].map((_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const loss = () => tf.losses.softmaxCrossEntropy(y, model.predict(x));
  const step = () => {
    const l = opt.minimize(loss, true);
    l.dataSync();
    l.dispose();
  };
  step();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000 / steps;
  const wallMs = (performance.now() - t0) / steps;
  const prof = await tf.profile(() => opt.minimize(loss, true));
  const byKernel = {};
  for (const k of prof.kernels) byKernel[k.name] = (byKernel[k.name] ?? 0) + (k.kernelTimeMs ?? 0);
  const top = Object.entries(byKernel)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
    .join(', ');
  console.log(
    `${name} on ${tf.getBackend()}: ${cpuMs.toFixed(0)} CPU ms/step (${wallMs.toFixed(0)} wall), ` +
      `${((64 * 1000) / cpuMs).toFixed(0)} samples per CPU-second; top kernels: ${top}`,
  );
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}
