// QAT step overhead: time per training step of protocol mlp-mnist10k's MLP
// (784-256-256-10, batch 64, momentum SGD) with the plain base optimizer vs
// QuantOptimizer (and ADMMQOptimizer when built), as a ratio to the plain step.
// Each sample is a block of `quantPeriod` = 10 steps (so Q refreshes count),
// after warm-up, and configs take turns block by block; we report the median block time / 10, as wall time and as
// this process's CPU time (robust when other work shares the machine). Usage:
//   npm run bench:overhead [-- --backends wasm,cpu --blocks 15]
import * as tf from '@tensorflow/tfjs';
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import * as parq from '../dist/index.js';
import { selectBackend } from '../dist/backend/select.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const backends = opt('backends', 'wasm,cpu').split(',');
const blocks = Number(opt('blocks', '15'));
const period = 10;
const resultsDir = opt('results', 'bench/results');

function model(seed) {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 256,
        activation: 'relu',
        inputShape: [784],
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        units: 256,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
      tf.layers.dense({
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
      }),
    ],
  });
}

const totalSteps = 2520;
const configs = [{ name: 'plain', make: () => tf.train.momentum(0.05, 0.9) }];
for (const prox of ['ste', 'parq', 'binaryrelax']) {
  for (const quant of ['lsbq', 'unif']) {
    for (const gran of ['tensor', 'channel']) {
      configs.push({
        name: `${prox} ${quant} per-${gran}`,
        make: () =>
          new parq.QuantOptimizer({
            base: tf.train.momentum(0.05, 0.9),
            quantizer: parq.quantizerByName(quant, 2),
            prox:
              prox === 'ste'
                ? new parq.ProxHardQuant()
                : prox === 'parq'
                  ? new parq.ProxPARQ({ annealStart: 0, annealEnd: Math.floor(0.9 * totalSteps) })
                  : new parq.ProxBinaryRelax({
                      annealStart: 0,
                      annealEnd: Math.floor(0.9 * totalSteps),
                    }),
            bits: 2,
            granularity: gran === 'tensor' ? { kind: 'tensor' } : { kind: 'channel' },
            quantPeriod: period,
          }),
      });
    }
  }
}
if (parq.ADMMQOptimizer) {
  configs.push({
    name: 'admmq lsbq per-tensor',
    make: () =>
      new parq.ADMMQOptimizer({
        base: tf.train.momentum(0.05, 0.9),
        quantizer: new parq.LSBQuantizer(),
        bits: 2,
        rho: 1e-3,
        projectEvery: period,
      }),
  });
}

/** A model compiled with the config's optimizer, warmed up, mid-annealing. */
async function prepare(cfg, x, y) {
  const m = model(1);
  const optimizer = cfg.make();
  m.compile({ optimizer, loss: 'categoricalCrossentropy' });
  // warm-up: two blocks, then move PARQ/BinaryRelax into the middle of annealing
  for (let i = 0; i < 2 * period; i++) await m.trainOnBatch(x, y);
  if (optimizer.step !== undefined)
    optimizer.step = Math.floor(totalSteps / 2) - (Math.floor(totalSteps / 2) % period);
  return { cfg, m, optimizer, wall: [], cpu: [] };
}

/** One block of `period` steps (so a Q refresh is inside), timed. */
async function timeBlock(run, x, y) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < period; i++) await run.m.trainOnBatch(x, y);
  const c = process.cpuUsage(c0);
  run.cpu.push((c.user + c.system) / 1000 / period);
  run.wall.push((performance.now() - t0) / period);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const results = [];
  for (const backend of backends) {
    // as parq train runs: wasm with parq-ts's training kernels
    await selectBackend(backend);
    const x = tf.randomUniform([64, 784]);
    const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32'), 10).toFloat();
    // Rounds: every config times one block per round, so drifting load (other
    // work on the machine) hits all configs alike.
    const runs = [];
    for (const cfg of configs) runs.push(await prepare(cfg, x, y));
    for (let b = 0; b < blocks; b++) for (const run of runs) await timeBlock(run, x, y);
    const plain = { wall: median(runs[0].wall), cpu: median(runs[0].cpu) };
    for (const run of runs) {
      const cfg = run.cfg;
      const t = { wall: median(run.wall), cpu: median(run.cpu) };
      const row = {
        backend,
        config: cfg.name,
        wallMs: +t.wall.toFixed(3),
        cpuMs: +t.cpu.toFixed(3),
        wallRatio: +(t.wall / plain.wall).toFixed(3),
        cpuRatio: +(t.cpu / plain.cpu).toFixed(3),
      };
      results.push(row);
      console.log(
        `${backend.padEnd(5)} ${cfg.name.padEnd(28)} wall ${t.wall.toFixed(2).padStart(7)} ms (${row.wallRatio.toFixed(3)}x)  cpu ${t.cpu.toFixed(2).padStart(7)} ms (${row.cpuRatio.toFixed(3)}x)`,
      );
    }
    for (const run of runs) {
      run.optimizer.dispose?.();
      run.m.dispose();
    }
    tf.dispose([x, y]);
  }
  mkdirSync(resultsDir, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    blocks,
  };
  writeFileSync(`${resultsDir}/overhead.json`, JSON.stringify({ meta, results }, null, 2));
}

main();
