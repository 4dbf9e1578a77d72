// Training throughput of the tfjs backends parq-ts uses (issue 7): samples per second of
// a training step (model.trainOnBatch: forward, backward, SGD update, loss read back) for
// an MLP 784-256-256-10, LeNet-5 and ResNet-20, on wasm (with parq-ts's kernels) and cpu.
// Each backend runs in its own child process (a fresh tfjs, so wasm thread counts and
// kernel sets do not leak between runs). Per model: warm-up steps, then the median of the
// timed steps, as wall time and as the process's CPU time (user + system, all threads).
// Samples/s is given from both: on a machine shared with other work, the CPU-time figure
// of a single-threaded backend is the one that does not depend on the load.
//
// Usage (after `npm run build`; about 3 minutes on 2 idle cores):
//   npm run bench:backends [-- --backends wasm,wasm-stock,cpu --models mlp,lenet5,resnet20 --json out.json]
// Backends: wasm (parq-ts kernels, 1 thread), wasm-stock (only the missing
// Conv2DBackpropFilter added, stock wasm kernels otherwise), wasm-t2 (threaded wasm build,
// 2 threads), cpu. Models: mlp, lenet5 (max pooling), lenet5-avg, resnet20.
// cpu is slow: it runs fewer steps, and ResNet-20 on cpu uses batch 4 (--cpu-resnet-batch)
// with 1 warm-up and 1 timed step, since one batch of 64 takes several minutes there;
// samples/s is comparable across batch sizes on cpu, whose kernels cost linearly in the batch.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

if (args[0] === '--child') {
  await child(
    args[1],
    args[2].split(','),
    Number(opt('batch', '64')),
    Number(opt('cpu-resnet-batch', '4')),
  );
} else {
  parent();
}

function fmt(v) {
  return (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3)).padStart(7);
}

function parent() {
  const backends = opt('backends', 'wasm,wasm-stock,cpu').split(',');
  const models = opt('models', 'mlp,lenet5,resnet20');
  const batch = opt('batch', '64');
  const cpuResnetBatch = opt('cpu-resnet-batch', '4');
  const results = [];
  console.log(
    `node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg()[0].toFixed(2)}`,
  );
  for (const backend of backends) {
    const run = spawnSync(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--child',
        backend,
        models,
        '--batch',
        batch,
        '--cpu-resnet-batch',
        cpuResnetBatch,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    for (const line of run.stdout.split('\n')) {
      if (line.startsWith('RESULT ')) {
        const r = JSON.parse(line.slice(7));
        results.push(r);
        console.log(
          `${r.backend.padEnd(10)} ${r.model.padEnd(10)} batch ${String(r.batch).padStart(2)}  ` +
            `${fmt(r.samplesPerSec)} samples/s wall, ${fmt(r.samplesPerCpuSec)} per cpu-s  ` +
            `(step ${r.stepMs.toFixed(1)} ms wall, ${r.cpuMs.toFixed(1)} ms cpu, median of ${r.steps})` +
            `${r.notice ? `  [${r.notice}]` : ''}`,
        );
      } else if (line.trim() !== '') {
        console.log(`  ${backend}: ${line}`);
      }
    }
    if (run.status !== 0) console.log(`  ${backend}: exited with ${run.status ?? run.signal}`);
  }
  const base = (model, backend) => results.find((r) => r.model === model && r.backend === backend);
  console.log('\nsamples/s vs cpu (by wall time, by cpu time):');
  for (const r of results) {
    const cpu = base(r.model, 'cpu');
    if (r.backend !== 'cpu' && cpu) {
      const wall = r.samplesPerSec / cpu.samplesPerSec;
      const cpuTime = r.samplesPerCpuSec / cpu.samplesPerCpuSec;
      console.log(
        `  ${r.model.padEnd(10)} ${r.backend.padEnd(10)} ${wall.toFixed(1)}x, ${cpuTime.toFixed(1)}x`,
      );
    }
  }
  const out = opt('json', null);
  if (out) {
    writeFileSync(
      out,
      JSON.stringify({ node: process.version, cores: os.cpus().length, results }, null, 2) + '\n',
    );
  }
}

async function child(backend, models, batch, cpuResnetBatch) {
  const tf = await import('@tensorflow/tfjs');
  const { selectBackend } = await import('../dist/backend/select.js');
  const { restoreStockWasmKernels } = await import('../dist/backend/wasm/register.js');
  const { MODELS } = await import('./lib-models.mjs');
  let selection;
  if (backend === 'cpu') selection = await selectBackend('cpu');
  else if (backend === 'wasm') selection = await selectBackend('wasm');
  else if (backend === 'wasm-t2') selection = await selectBackend('wasm', { threads: 2 });
  else if (backend === 'wasm-stock') {
    selection = await selectBackend('wasm', { fastKernels: false });
    restoreStockWasmKernels();
  } else throw new Error(`unknown backend ${backend}`);

  for (const name of models) {
    const [make, inputShape] = MODELS[name];
    const cpu = backend === 'cpu';
    const heavy = name === 'resnet20';
    const n = cpu && heavy ? cpuResnetBatch : batch;
    // [warm-up, timed] steps.
    const [warm, timed] = cpu
      ? heavy
        ? [1, 1]
        : name === 'mlp'
          ? [3, 10]
          : [1, 3]
      : heavy
        ? [2, 5]
        : [5, 15];
    const model = make();
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
    const x = tf.randomNormal([n, ...inputShape], 0, 1, 'float32', 7);
    const y = tf.oneHot(tf.randomUniform([n], 0, 10, 'int32', 8), 10);
    for (let i = 0; i < warm; i++) await model.trainOnBatch(x, y);
    const wall = [];
    const cpuTime = [];
    for (let i = 0; i < timed; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await model.trainOnBatch(x, y);
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpuTime.push((c.user + c.system) / 1000);
    }
    const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
    const stepMs = median(wall);
    const result = {
      backend,
      tfBackend: tf.getBackend(),
      model: name,
      batch: n,
      steps: timed,
      stepMs,
      cpuMs: median(cpuTime),
      samplesPerSec: (n * 1000) / stepMs,
      samplesPerCpuSec: (n * 1000) / median(cpuTime),
      notice: selection.notice,
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
    tf.dispose([x, y]);
    model.dispose();
  }
}
