// Same start on both sides (issue 15): parq-ts's initial weights and batch order for one
// protocol cnn-fashion run, written so that bench/reference/cnn_fashion.py --same-start DIR
// trains the PyTorch reference from exactly that start. With the start shared, what is left
// to differ is the training itself (the step, the data path, the loss), not the random draws.
// Also trains parq-ts from it and writes its result next to the start.
//   node bench/same-start.mjs --model lenet5 --method ste --bits 1 --seed 0 --epochs 2 --out DIR
//       [--limit-train N] [--no-train] [--data fashion-mnist:DIR]
// DIR/start.json: the config, each weight's name, shape and offset into DIR/weights.f32
// (float32, little-endian, tfjs layout); DIR/order.i32: each epoch's sample order (int32);
// DIR/parq-ts.json: the run's final test accuracy and per-epoch train loss.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../dist/backend/select.js';
import { batchOrder } from '../dist/data/batches.js';
import { loadDataset } from '../dist/data/load.js';
import { modelForConfig, resolveTrainConfig, trainRun } from '../dist/train/index.js';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = flag('out');
if (!out) {
  console.error('same-start: --out DIR is required');
  process.exit(2);
}
const method = flag('method', 'ste');
const bitsFlag = flag('bits', '1');
const quant = method !== 'fp';
const config = resolveTrainConfig({
  data: flag('data', 'fashion-mnist'),
  model: flag('model', 'lenet5'),
  method,
  ...(quant
    ? {
        quantizer: 'lsbq',
        bits: bitsFlag === 'ternary' ? 0 : Number(bitsFlag),
        quantPeriod: 10,
        annealStart: 0,
        annealEnd: 0.9,
      }
    : {}),
  ...(method === 'parq' ? { steepness: 10 } : {}),
  seed: Number(flag('seed', '0')),
  epochs: Number(flag('epochs', '2')),
  batchSize: 128,
  optimizer: 'adam',
  lr: 1e-3,
  lrSchedule: 'cosine',
  evalEvery: 0,
  limitTrain: Number(flag('limit-train', '0')),
});
await selectBackend(flag('backend', 'wasm'));
const dataset = loadDataset(config.data);
const n = config.limitTrain > 0 ? Math.min(config.limitTrain, dataset.train.n) : dataset.train.n;
const model = modelForConfig(config, dataset);
mkdirSync(out, { recursive: true });
const weights = [];
const chunks = [];
let offset = 0;
for (const w of model.weights) {
  const values = w.read().dataSync();
  weights.push({ name: w.originalName ?? w.name, shape: w.shape, offset });
  chunks.push(Buffer.from(new Float32Array(values).buffer));
  offset += values.length;
}
writeFileSync(join(out, 'weights.f32'), Buffer.concat(chunks));
const orders = [];
for (let e = 0; e < config.epochs; e++) {
  const all = new Int32Array(n);
  let k = 0;
  for (const b of batchOrder(n, config.batchSize, config.seed, e)) {
    all.set(b, k);
    k += b.length;
  }
  orders.push(Buffer.from(all.buffer));
}
writeFileSync(join(out, 'order.i32'), Buffer.concat(orders));
writeFileSync(
  join(out, 'start.json'),
  JSON.stringify({ config, trainSamples: n, weights }, null, 1),
);
// The start's loss on its first batch (the reference prints its own: the layouts agree when
// the two are equal to float precision).
const first = new Int32Array(orders[0].buffer, orders[0].byteOffset, Math.min(config.batchSize, n));
const firstLoss = tf.tidy(() => {
  const size = dataset.inputShape.reduce((a, b) => a * b, 1);
  const xs = new Float32Array(first.length * size);
  const ys = new Int32Array(first.length);
  first.forEach((i, k) => {
    xs.set(dataset.train.x.subarray(i * size, (i + 1) * size), k * size);
    ys[k] = dataset.train.y[i];
  });
  const probs = model.predict(tf.tensor(xs, [first.length, ...dataset.inputShape]));
  const picked = tf.gather(
    probs.reshape([-1]),
    tf.tensor1d(
      Int32Array.from(ys, (y, k) => k * probs.shape[1] + y),
      'int32',
    ),
  );
  return -tf.mean(tf.log(picked)).dataSync()[0];
});
console.log(`same-start: first-batch loss at the start ${firstLoss}`);
console.log(`same-start: wrote ${out}/start.json, weights.f32 (${offset} floats), order.i32`);
if (!args.includes('--no-train')) {
  const t0 = Date.now();
  const { metrics, model: trained, optimizer } = await trainRun(config, { dataset, model });
  const result = {
    side: 'parq-ts',
    accuracy: 100 * metrics.final.testAccuracy,
    epochLoss: metrics.epochs.map((e) => e.loss),
    seconds: (Date.now() - t0) / 1000,
  };
  writeFileSync(join(out, 'parq-ts.json'), JSON.stringify(result));
  console.log(JSON.stringify(result));
  trained.dispose();
  optimizer.dispose();
}
