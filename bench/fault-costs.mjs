// What the issue-18 checks cost, in CPU time (process.cpuUsage: the machine is shared):
// the data fingerprint of the built-in MNIST split (every run), and the checksum check of a
// checkpoint on resume / eval. Usage: npm run build && node bench/fault-costs.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../dist/data/mnist.js';
import { datasetFingerprint } from '../dist/train/data.js';
import { captureCheckpoint } from '../dist/train/checkpoint.js';
import { readCheckpointState, writeCheckpoint } from '../dist/train/checkpoint-files.js';
import { mlp } from '../dist/models/mlp.js';

const cpuMs = (f) => {
  const t = process.cpuUsage();
  const out = f();
  const d = process.cpuUsage(t);
  return [(d.user + d.system) / 1000, out];
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await tf.setBackend('cpu');
const mnist = loadMnist();
const fp = [];
for (let i = 0; i < 5; i++) fp.push(cpuMs(() => datasetFingerprint(mnist))[0]);
const mb = (4 * (mnist.train.x.length + mnist.test.x.length)) / 2 ** 20;
console.log(
  `fingerprint of mnist (${mb.toFixed(1)} MiB of features): ${median(fp).toFixed(1)} ms CPU (median of 5)`,
);

const model = mlp({ inputShape: [28, 28, 1], numClasses: 10, hidden: [256, 256] });
const optimizer = tf.train.momentum(0.05, 0.9);
const x = tf.randomNormal([8, 28, 28, 1]);
optimizer.minimize(() => tf.mean(tf.square(model.apply(x))));
const data = await captureCheckpoint(model, optimizer, {
  config: {},
  epoch: 1,
  step: 1,
  dataOrder: { seed: 0, nextEpoch: 1 },
  metrics: {},
});
const dir = mkdtempSync(join(tmpdir(), 'parq-bench-'));
const ckpt = await writeCheckpoint(dir, data);
const verify = [];
for (let i = 0; i < 5; i++) verify.push(cpuMs(() => readCheckpointState(ckpt))[0]);
console.log(
  `checksum check of an MLP 784-256-256-10 momentum checkpoint (${((data.optimizerData.byteLength * 2) / 2 ** 20).toFixed(1)} MiB): ${median(verify).toFixed(1)} ms CPU (median of 5)`,
);
rmSync(dir, { recursive: true, force: true });
