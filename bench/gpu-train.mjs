// Training throughput on webgpu (Dawn in Node, or a browser's WebGPU) vs wasm, plain and with
// QuantOptimizer (2-bit PARQ + greedy LSBQ, per tensor), plus the conv kernels on webgpu and
// protocol mlp-mnist10k end to end. Usage (after `npm run build`, or bundled by
// scripts/bundle-cli.mjs as gpu-train.cjs for a machine without node_modules):
//   node bench/gpu-train.mjs [--backends webgpu,wasm] [--models mlp:64,mlp:1024,lenet5:64,resnet20:128]
//        [--seconds 3] [--kernels] [--composed] [--unfused] [--protocol] [--wasm-threads 1]
//        [--json FILE]
//        [--filter-grad parq|tfjs] [--kernel-reps 20] [--kernel-batch N]
// A model spec is name:batch. Each throughput figure: warm-up (one quantPeriod of 10 steps,
// which compiles every shader), then blocks of 10 steps until --seconds have passed; inputs
// are random, resident on the device, cycled from 10 batches; the loop is
// optimizer.minimize per batch with no read-back (as src/train does), one read at the end.
// Also counted on webgpu: GPU->CPU reads per step (the QAT step must add none) and tensors
// left after the measured steps (must be 0). --filter-grad tfjs: webgpu trains with tfjs's own
// Conv2DBackpropFilter instead of parq-ts's. --kernels: conv forward/backprop GFLOP/s on
// webgpu; --composed: the QAT step again with the prox maps as composed ops (no WGSL kernel);
// --unfused: the QAT step again without the fused step (fuseBaseStep false: tfjs's momentum,
// then the prox kernel; the default runs them as one kernel where the backend has it);
// --protocol: protocol mlp-mnist10k, plain and 2-bit PARQ, 20 epochs on the first backend.
import * as tf from '@tensorflow/tfjs';
import { renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { LSBQuantizer, PROX_KERNEL, ProxPARQ, QuantOptimizer } from '../dist/index.js';
import { buildModel } from '../dist/models/index.js';
import { batchOrder, gatherBatch, loadDataset } from '../dist/data/index.js';
import { webgpuAdapter } from '../dist/backend/webgpu.js';
import { useWebGPUConvFilterGrad } from '../dist/backend/webgpu-conv-filter-grad.js';
import { selectBackend } from '../dist/backend/select.js';
import { threadedWasmThreads } from '../dist/backend/wasm/threads.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const has = (name) => args.includes(`--${name}`);
const backends = opt('backends', 'webgpu,wasm').split(',');
const models = opt('models', 'mlp:64,mlp:1024,lenet5:64,resnet20:128').split(',');
const seconds = Number(opt('seconds', '3'));
const PERIOD = 10;
const INPUT = { mlp: [28, 28, 1], lenet5: [28, 28, 1], resnet20: [32, 32, 3] };

const log = (...a) => console.log(...a);
const fmt = (x, d = 0) =>
  x === undefined
    ? '-'
    : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Counts GPU->CPU reads on webgpu (every read goes through getBufferData). */
function readCounter() {
  const be = tf.backend();
  if (typeof be.getBufferData !== 'function') return null;
  if (!be.__benchReads) {
    be.__benchReads = 0;
    const f = be.getBufferData.bind(be);
    be.getBufferData = (b) => {
      be.__benchReads++;
      return f(b);
    };
  }
  return () => be.__benchReads;
}

/** The backend as users get it (selectBackend: parq-ts's wasm training kernels, Dawn). */
async function useBackend(name) {
  const threads = Number(opt('wasm-threads', '1'));
  const sel = await selectBackend(name, name === 'wasm' ? { threads } : {});
  if (sel.backend !== name) return `unavailable: ${sel.notice ?? sel.backend}`;
  if (sel.notice) log(`${name}: ${sel.notice}`);
  // --filter-grad tfjs: train with tfjs's own Conv2DBackpropFilter (for the side-by-side)
  if (name === 'webgpu') useWebGPUConvFilterGrad(opt('filter-grad', 'parq'));
  return null;
}

function makeOptimizer(qat, fuseBaseStep = true) {
  const base = tf.train.momentum(0.05, 0.9);
  if (!qat) return base;
  return new QuantOptimizer({
    base,
    quantizer: new LSBQuantizer(),
    prox: new ProxPARQ({ annealStart: 0, annealEnd: 100000 }),
    bits: 2,
    quantPeriod: PERIOD,
    fuseBaseStep,
  });
}

// The built-in models end in `logits` then `softmax`: train on the logits (the same loss as
// cross-entropy on the softmax, computed stably).
const lossOf = (model, x, y) => tf.losses.softmaxCrossEntropy(y, logits(model, x));

const logitsModels = new WeakMap();
function logits(model, x) {
  let m = logitsModels.get(model);
  if (!m) {
    const layer = model.layers.find((l) => l.name === 'logits');
    m = tf.model({ inputs: model.inputs, outputs: layer.output });
    logitsModels.set(model, m);
  }
  return m.apply(x, { training: true });
}

/** Samples per second of one (backend, model, batch, plain|qat). */
async function throughput(name, batch, qat, fuseBaseStep = true) {
  const model = buildModel(name, { inputShape: INPUT[name], numClasses: 10, seed: 0 });
  const optimizer = makeOptimizer(qat, fuseBaseStep);
  const batches = tf.tidy(() =>
    Array.from({ length: PERIOD }, () => ({
      x: tf.randomUniform([batch, ...INPUT[name]]),
      y: tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10).toFloat(),
    })),
  );
  const step = (i) => {
    const b = batches[i % PERIOD];
    const cost = optimizer.minimize(() => lossOf(model, b.x, b.y), true);
    return cost;
  };
  const reads = readCounter();
  const run = async (n) => {
    let cost = null;
    for (let i = 0; i < n; i++) {
      cost?.dispose();
      cost = step(i);
    }
    const v = (await cost.data())[0];
    cost.dispose();
    return v;
  };
  try {
    await run(PERIOD); // warm-up: compiles every shader, resolves the QAT groups
    const tensors0 = tf.memory().numTensors;
    const reads0 = reads?.();
    let steps = 0;
    const t0 = performance.now();
    let loss;
    do {
      loss = await run(PERIOD);
      steps += PERIOD;
    } while (performance.now() - t0 < seconds * 1000);
    const s = (performance.now() - t0) / 1000;
    return {
      samplesPerSec: (steps * batch) / s,
      msPerStep: (1000 * s) / steps,
      steps,
      // minus the one loss read a block
      readsPerStep: reads ? (reads() - reads0 - steps / PERIOD) / steps : undefined,
      tensorsLeft: tf.memory().numTensors - tensors0,
      loss,
    };
  } finally {
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    optimizer.dispose();
    model.dispose(); // frees the layers the logits model shares too
  }
}

/** Conv2D forward and both backprops on ResNet-20's and LeNet-5's shapes, in GFLOP/s. */
async function convKernels(
  reps = Number(opt('kernel-reps', '20')),
  batch = Number(opt('kernel-batch', '0')),
) {
  const shapes = [
    {
      what: 'resnet20 stage1 3x3 16->16 @32x32, batch 128',
      x: [128, 32, 32, 16],
      f: [3, 3, 16, 16],
      s: 1,
    },
    {
      what: 'resnet20 stage3 3x3 64->64 @8x8, batch 128',
      x: [128, 8, 8, 64],
      f: [3, 3, 64, 64],
      s: 1,
    },
    {
      what: 'lenet5 conv2 5x5 6->16 @14x14 valid, batch 64',
      x: [64, 14, 14, 6],
      f: [5, 5, 6, 16],
      s: 1,
      pad: 'valid',
    },
  ];
  // --kernel-batch N: the same layers at batch N (a software adapter runs batch 128 for minutes)
  if (batch > 0) for (const sh of shapes) sh.x = [batch, ...sh.x.slice(1)];
  const rows = [];
  for (const sh of shapes) {
    if (batch > 0) sh.what = sh.what.replace(/batch \d+/, `batch ${batch}`);
    const pad = sh.pad ?? 'same';
    const x = tf.randomNormal(sh.x);
    const f = tf.randomNormal(sh.f);
    const y = tf.conv2d(x, f, sh.s, pad);
    const dy = tf.randomNormal(y.shape);
    const flops = 2 * y.size * sh.f[0] * sh.f[1] * sh.f[2];
    const ops = {
      forward: () => tf.conv2d(x, f, sh.s, pad),
      backpropInput: () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropInput',
            { dy, filter: f },
            { inputShape: sh.x, strides: sh.s, pad, dataFormat: 'NHWC' },
          ),
      backpropFilter: () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { filterShape: sh.f, strides: sh.s, pad, dataFormat: 'NHWC' },
          ),
    };
    // tfjs's own filter gradient beside parq-ts's (src/backend/webgpu-conv-filter-grad.ts)
    ops.backpropFilterTfjs = ops.backpropFilter;
    const row = { what: sh.what };
    for (const [k, op] of Object.entries(ops)) {
      useWebGPUConvFilterGrad(k === 'backpropFilterTfjs' ? 'tfjs' : 'parq');
      let r = op();
      await r.data();
      r.dispose();
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) {
        r = op();
        if (i < reps - 1) r.dispose();
      }
      await r.data();
      r.dispose();
      const ms = (performance.now() - t0) / reps;
      row[k] = { ms, gflops: flops / ms / 1e6 };
    }
    useWebGPUConvFilterGrad('parq');
    rows.push(row);
    tf.dispose([x, f, y, dy]);
  }
  return rows;
}

/** Protocol mlp-mnist10k, 2-bit PARQ + LSBQ (or plain), 20 epochs of batch 64, the loop src/train runs. */
async function protocol(qat) {
  const t0 = performance.now();
  const data = loadDataset('mnist');
  const tLoad = performance.now();
  const epochs = 20;
  const batch = 64;
  const stepsPerEpoch = Math.ceil(data.train.n / batch);
  const total = epochs * stepsPerEpoch;
  const lrSchedule = { kind: 'cosine', lr: 0.05, totalSteps: total };
  const tensors0 = tf.memory().numTensors;
  const model = buildModel('mlp', { inputShape: data.inputShape, numClasses: 10, seed: 0 });
  const base = tf.train.momentum(0.05, 0.9);
  const optimizer = qat
    ? new QuantOptimizer({
        base,
        quantizer: new LSBQuantizer(),
        prox: new ProxPARQ({ annealStart: 0, annealEnd: Math.floor(0.9 * total) }),
        bits: 2,
        quantPeriod: PERIOD,
        lrSchedule,
      })
    : base;
  let step = 0;
  let lossSum = tf.scalar(0);
  for (let e = 0; e < epochs; e++) {
    for (const idx of batchOrder(data.train.n, batch, 0, e)) {
      const { x, y } = gatherBatch(data.train, idx, data.inputShape, { oneHot: 10 });
      if (!qat)
        base.setLearningRate(
          0.5 * 0.05 * (1 + Math.cos((Math.PI * Math.min(step, total)) / total)),
        );
      const cost = optimizer.minimize(() => lossOf(model, x, y), true);
      const next = tf.add(lossSum, cost);
      tf.dispose([x, y, cost, lossSum]);
      lossSum = next;
      step++;
    }
    const mean = (await lossSum.data())[0] / stepsPerEpoch; // one read an epoch
    lossSum.dispose();
    lossSum = tf.scalar(0);
    if (e === 0 || e === epochs - 1) log(`    epoch ${e + 1}: mean loss ${mean.toFixed(4)}`);
  }
  lossSum.dispose();
  const tTrain = performance.now();
  const { x, y } = gatherBatch(
    data.test,
    Int32Array.from({ length: data.test.n }, (_, i) => i),
    data.inputShape,
  );
  const pred = tf.tidy(() => tf.argMax(model.predict(x), 1));
  const [p, t] = await Promise.all([pred.data(), y.data()]);
  let correct = 0;
  for (let i = 0; i < p.length; i++) correct += p[i] === t[i] ? 1 : 0;
  let distinct = null;
  if (qat) {
    const k = await model.getLayer('fc1').getWeights()[0].data();
    distinct = new Set(k).size;
  }
  tf.dispose([x, y, pred]);
  optimizer.dispose();
  model.dispose(); // frees the layers the logits model shares too
  const tensorsLeft = tf.memory().numTensors - tensors0; // all disposed: must be 0
  return {
    steps: step,
    loadSec: (tLoad - t0) / 1000,
    trainSec: (tTrain - tLoad) / 1000,
    msPerStep: (tTrain - tLoad) / step,
    testAccuracy: (100 * correct) / p.length,
    fc1DistinctValues: distinct,
    tensorsLeft,
  };
}

async function main() {
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`,
    tfjs: tf.version.tfjs,
    throughput: [],
  };
  for (const backend of backends) {
    const problem = await useBackend(backend);
    if (problem) {
      log(`${backend}: ${problem}`);
      out.throughput.push({ backend, error: problem });
      continue;
    }
    const device =
      backend === 'webgpu'
        ? webgpuAdapter()
        : `${Math.max(1, threadedWasmThreads())} thread(s) of ${os.cpus().length} cores`;
    log(`\n${backend} (${device})`);
    log(
      'model     batch   plain samples/s   QAT samples/s   QAT/plain step   QAT reads/step   tensors left',
    );
    for (const spec of models) {
      const [name, b] = spec.split(':');
      const batch = Number(b);
      const row = { backend, device, model: name, batch };
      for (const qat of [false, true]) {
        try {
          row[qat ? 'qat' : 'plain'] = await throughput(name, batch, qat);
        } catch (e) {
          row[qat ? 'qat' : 'plain'] = { error: String(e?.message ?? e).split('\n')[0] };
        }
      }
      if (backend === 'webgpu' && has('composed')) {
        // the same QAT step with the prox maps as composed tfjs ops instead of the WGSL kernel
        const kernel = tf.getKernel(PROX_KERNEL, 'webgpu');
        tf.unregisterKernel(PROX_KERNEL, 'webgpu');
        try {
          row.qatComposed = await throughput(name, batch, true);
        } catch (e) {
          row.qatComposed = { error: String(e?.message ?? e).split('\n')[0] };
        } finally {
          tf.registerKernel(kernel);
        }
      }
      if (has('unfused')) {
        try {
          row.qatUnfused = await throughput(name, batch, true, false);
        } catch (e) {
          row.qatUnfused = { error: String(e?.message ?? e).split('\n')[0] };
        }
      }
      out.throughput.push(row);
      save(out);
      const p = row.plain;
      const q = row.qat;
      const err = p.error ?? q.error;
      log(
        err
          ? `${name.padEnd(9)} ${String(batch).padStart(5)}   ${err}`
          : `${name.padEnd(9)} ${String(batch).padStart(5)}   ${fmt(p.samplesPerSec).padStart(15)}   ${fmt(q.samplesPerSec).padStart(13)}   ${fmt(q.msPerStep / p.msPerStep, 2).padStart(14)}   ${fmt(q.readsPerStep, 2).padStart(14)}   ${p.tensorsLeft}/${q.tensorsLeft}`,
      );
      const u = row.qatUnfused;
      if (u) {
        log(
          u.error
            ? `          unfused: ${u.error}`
            : `          unfused (fuseBaseStep false): ${fmt(u.samplesPerSec)} samples/s, QAT/plain step ${fmt(u.msPerStep / p.msPerStep, 2)}, tensors left ${u.tensorsLeft}`,
        );
      }
      const c = row.qatComposed;
      if (c) {
        log(
          c.error
            ? `          composed prox: ${c.error}`
            : `          composed prox instead of the WGSL kernel: ${fmt(c.samplesPerSec)} samples/s, QAT/plain step ${fmt(c.msPerStep / p.msPerStep, 2)}, tensors left ${c.tensorsLeft}`,
        );
      }
    }
    if (backend === 'webgpu' && has('kernels')) {
      log('\nconv kernels on webgpu (ms, GFLOP/s)');
      out.convKernels = await convKernels();
      save(out);
      for (const r of out.convKernels) {
        log(
          `  ${r.what}: forward ${fmt(r.forward.ms, 2)} ms (${fmt(r.forward.gflops)}), ` +
            `backprop input ${fmt(r.backpropInput.ms, 2)} ms (${fmt(r.backpropInput.gflops)}), ` +
            `backprop filter ${fmt(r.backpropFilter.ms, 2)} ms (${fmt(r.backpropFilter.gflops)}; ` +
            `tfjs's own ${fmt(r.backpropFilterTfjs.ms, 2)} ms, ${fmt(r.backpropFilterTfjs.gflops)})`,
        );
      }
    }
    if (backend === backends[0] && has('protocol')) {
      out.protocol = { backend };
      for (const qat of [false, true]) {
        log(
          `\nprotocol mlp-mnist10k on ${backend}, ${qat ? '2-bit PARQ + LSBQ' : 'plain momentum SGD'}`,
        );
        const r = await protocol(qat);
        out.protocol[qat ? 'qat' : 'plain'] = r;
        save(out);
        log(
          `  ${r.steps} steps: train ${fmt(r.trainSec, 1)} s (${fmt(r.msPerStep, 2)} ms a step), data load ${fmt(r.loadSec, 1)} s, ` +
            `test accuracy ${fmt(r.testAccuracy, 2)}%` +
            (qat ? `, fc1 distinct values ${r.fc1DistinctValues}` : '') +
            `, tensors left ${r.tensorsLeft}`,
        );
      }
      log(`  QAT/plain step: ${fmt(out.protocol.qat.msPerStep / out.protocol.plain.msPerStep, 2)}`);
    }
  }
  save(out);
}

/** Written after every row, so a run stopped by a time limit keeps what it measured. */
function save(out) {
  const json = opt('json', null);
  if (!json) return;
  writeFileSync(`${json}.tmp`, JSON.stringify(out, null, 2));
  renameSync(`${json}.tmp`, json);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
