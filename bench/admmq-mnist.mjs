// ADMM-Q vs PARQ on MNIST, protocol mlp-mnist10k (../shared/reference/mlp-mnist10k.md):
// the built-in 10k digits (8,004 train / 1,996 test), MLP 784-256-256-10, batch 64
// reshuffled each epoch (seeded), momentum SGD 0.9, lr 0.05 cosine to 0 per step,
// the three kernels quantized per tensor with greedy LSBQ, biases in float.
// Training goes through model.fit (one call per epoch on that epoch's seeded order).
//
//   npm run build && node bench/admmq-mnist.mjs [options]
//   --epochs N        epochs (default 20, the protocol's)
//   --seeds 0,1,2     model / data-order seeds (default 0)
//   --bits 2,1        bit widths (default 2,1)
//   --methods admmq,parq,...   admmq (hard), admms (soft), admmr (random), parq (default admmq,parq)
//   --rho R0 --rho-max R1      ADMM ρ grows geometrically from R0 to R1 over the run
//                              (default 1e-4 to 1, once an epoch)
//   --project-every N          ADMM projection and dual update period in steps (default 126, an epoch)
//   --beta B, --p P            ADMM-S β (default 1e-3) and ADMM-R probability (default 0.5)
//   --backend wasm|cpu (default wasm)   --out FILE
//
// PARQ: ProxPARQ annealed from step 0 to 90% of the steps (steepness 10, center 0.5),
// quant period 10. ADMM-Q: ADMMQOptimizer with the same base optimizer, schedule and
// quantizer, finalized after the last step. Reports test accuracy and the number of
// distinct values in each kernel; writes bench/results/admmq-mnist.json.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMMQOptimizer } from '../dist/optim/admm/index.js';
import { batchOrder, gatherBatch, loadDataset, toTensors } from '../dist/data/index.js';
import { buildModel, MODEL_LOSS } from '../dist/models/index.js';
import { QuantOptimizer } from '../dist/optim/index.js';
import { ProxPARQ } from '../dist/prox/index.js';
import { quantizerByName } from '../dist/quant/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const METHODS = ['admmq', 'admms', 'admmr', 'parq'];

function parseArgs(argv) {
  const o = {
    epochs: 20,
    seeds: [0],
    bits: [2, 1],
    methods: ['admmq', 'parq'],
    rho: 1e-4,
    rhoMax: 1,
    projectEvery: 126,
    beta: 1e-3,
    p: 0.5,
    backend: 'wasm',
    out: join(here, 'results', 'admmq-mnist.json'),
  };
  const list = (s, what) =>
    s.split(',').map((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`${what}: '${v}' is not a non-negative integer`);
      return n;
    });
  const num = (s, what) => {
    const n = Number(s);
    if (!(n > 0) || !Number.isFinite(n))
      throw new Error(`${what} must be a number > 0, got '${s}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--epochs') o.epochs = list(v, a)[0];
    else if (a === '--seeds') o.seeds = list(v, a);
    else if (a === '--bits') o.bits = list(v, a);
    else if (a === '--methods') o.methods = v.split(',');
    else if (a === '--rho') o.rho = num(v, a);
    else if (a === '--rho-max') o.rhoMax = num(v, a);
    else if (a === '--project-every') o.projectEvery = list(v, a)[0];
    else if (a === '--beta') o.beta = Number(v);
    else if (a === '--p') o.p = Number(v);
    else if (a === '--backend') o.backend = v;
    else if (a === '--out') o.out = v;
    else throw new Error(`unknown option '${a}'`);
  }
  const bad = o.methods.find((m) => !METHODS.includes(m));
  if (bad) throw new Error(`unknown method '${bad}' (${METHODS.join(', ')})`);
  if (!(o.epochs >= 1)) throw new Error('--epochs must be >= 1');
  if (!['wasm', 'cpu'].includes(o.backend))
    throw new Error(`--backend must be wasm or cpu, got '${o.backend}'`);
  return o;
}

const BATCH = 64;

function makeOptimizer(o, method, bits, totalSteps, stepsPerEpoch) {
  const base = tf.train.momentum(0.05, 0.9);
  const lrSchedule = { kind: 'cosine', lr: 0.05, totalSteps };
  const quantizer = quantizerByName('lsbq', bits);
  if (method === 'parq') {
    const annealEnd = Math.floor(0.9 * totalSteps);
    return new QuantOptimizer({
      base,
      quantizer,
      prox: new ProxPARQ({ annealStart: 0, annealEnd, steepness: 10, annealCenter: 0.5 }),
      bits,
      quantPeriod: 10,
      lrSchedule,
    });
  }
  // ρ grows geometrically once an epoch, from rho to rhoMax at the last epoch.
  const epochs = totalSteps / stepsPerEpoch;
  const factor = epochs > 1 ? (o.rhoMax / o.rho) ** (1 / (epochs - 1)) : 1;
  const variant = {
    admmq: {},
    admms: { variant: 'soft', beta: o.beta },
    admmr: { variant: 'random', probability: o.p },
  }[method];
  return new ADMMQOptimizer({
    base,
    quantizer,
    bits,
    rho: { kind: 'geometric', rho: o.rho, factor, every: stepsPerEpoch, max: o.rhoMax },
    projectEvery: o.projectEvery,
    totalSteps,
    lrSchedule,
    seed: 1,
    ...variant,
  });
}

async function runOne(o, data, test, method, bits, seed) {
  const model = buildModel('mlp', {
    inputShape: data.inputShape,
    numClasses: data.numClasses,
    seed,
  });
  const stepsPerEpoch = Math.ceil(data.train.n / BATCH);
  const totalSteps = stepsPerEpoch * o.epochs;
  const optimizer = makeOptimizer(o, method, bits, totalSteps, stepsPerEpoch);
  model.compile({ optimizer, loss: MODEL_LOSS, metrics: ['acc'] });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const residuals = [];
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = Int32Array.from(
      batchOrder(data.train.n, BATCH, seed, epoch).flatMap((b) => Array.from(b)),
    );
    const { x, y } = gatherBatch(data.train, order, data.inputShape);
    await model.fit(x, y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
    if (method !== 'parq' && epoch < o.epochs - 1) {
      residuals.push(await optimizer.relativeResidual());
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const evaluated = model.evaluate(test.x, test.y, { batchSize: 500 });
  const accuracy = 100 * (await evaluated[1].data())[0];
  tf.dispose(evaluated);
  const kernels = model.trainableWeights.filter((w) => w.originalName.endsWith('/kernel'));
  const distinct = kernels.map((w) => new Set(w.read().dataSync()).size);
  const result = {
    method,
    bits,
    seed,
    accuracy,
    distinct,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    steps: totalSteps,
    ...(method !== 'parq'
      ? { finalized: optimizer.finalized, finalRho: optimizer.rhoAt(totalSteps - 1), residuals }
      : {}),
  };
  model.dispose();
  optimizer.dispose();
  return result;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

async function main() {
  const o = parseArgs(process.argv.slice(2));
  await tf.setBackend(o.backend);
  await tf.ready();
  const data = loadDataset('mnist');
  const test = toTensors(data.test, data.inputShape);
  const runs = [];
  for (const bits of o.bits) {
    for (const method of o.methods) {
      for (const seed of o.seeds) {
        const r = await runOne(o, data, test, method, bits, seed);
        runs.push(r);
        process.stderr.write(
          `${method} ${bits}-bit seed ${seed}: ${r.accuracy.toFixed(2)}% test, distinct values per kernel [${r.distinct}], ` +
            `${r.seconds.toFixed(0)} s${r.residuals ? `, residual by epoch [${r.residuals.map((v) => v.toExponential(1))}]` : ''}\n`,
        );
      }
    }
  }
  const lines = [
    `MNIST (protocol mlp-mnist10k, ${o.epochs} epochs, backend ${tf.getBackend()}), seeds [${o.seeds}]; ` +
      `ADMM: ρ ${o.rho} → ${o.rhoMax} (geometric, per epoch), projection and dual update every ${o.projectEvery} steps` +
      (o.methods.includes('admms') ? `; ADMM-S β ${o.beta} (norm over each tensor)` : '') +
      (o.methods.includes('admmr') ? `; ADMM-R p ${o.p} (skipped z keep their value)` : '') +
      '.',
    '',
    '| method | bits | test accuracy % (mean ± sd) | runs | max distinct values per kernel | seconds per run |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const bits of o.bits) {
    for (const method of o.methods) {
      const rs = runs.filter((r) => r.bits === bits && r.method === method);
      const accs = rs.map((r) => r.accuracy);
      lines.push(
        `| ${method} | ${bits} | ${mean(accs).toFixed(2)} ± ${sd(accs).toFixed(2)} | ${rs.length} | ` +
          `${Math.max(...rs.flatMap((r) => r.distinct))} | ${mean(rs.map((r) => r.seconds)).toFixed(0)} |`,
      );
    }
  }
  console.log(lines.join('\n'));
  const json = {
    bench: 'admmq-mnist',
    command: `node bench/admmq-mnist.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    options: o,
    node: process.version,
    runs,
    table: lines.join('\n'),
  };
  mkdirSync(dirname(o.out), { recursive: true });
  const tmp = `${o.out}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(json, null, 1) + '\n');
  renameSync(tmp, o.out);
  process.stderr.write(`wrote ${o.out}\n`);
  tf.dispose([test.x, test.y]);
}

main().catch((e) => {
  console.error(`bench/admmq-mnist: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
