// parq-ts (tfjs wasm backend with parq-ts's kernels) beside PyTorch on the same networks
// (issue 14): MLP 784-256-256-10, LeNet-5 and ResNet-20 as in src/models (the PyTorch side,
// bench/reference/vs_torch.py, builds the same layers), batch 64, momentum SGD (lr 0.01,
// 0.9), one thread each, plain and QAT (PARQ prox, 2-bit LSBQ, Q refreshed every 10 steps:
// parq-ts's QuantOptimizer here, the reference PARQ QuantOptimizer there).
// Both sides run as servers in their own process, each model and optimizer built once and
// warmed up; the parent asks them in turns, round by round (parq-ts then PyTorch, then the
// other order next round), for the same steps of each mode, which each side runs in short
// blocks alternating between plain and QAT (ABBA; a QAT block is 10 steps, so it holds one
// refresh of Q; one untimed step of each mode first, the first mode alternating from round
// to round), and each side measures the CPU time of its own process for each block
// (process.cpuUsage / time.process_time: the numbers do not depend on other work sharing
// the machine). Reported: samples per CPU-second, median over
// the rounds; the ratio parq-ts / PyTorch as the median of the rounds' own ratios (the two
// sides of a round ran seconds apart, so a host that speeds up or slows down between
// rounds, as a shared one does, moves both), and QAT / plain step time on each side as the
// median over pairs of adjacent blocks (tenths of a second apart for the MLP), each with the
// lowest and highest.
// Usage (after `npm run build`):
//   npm run bench:vs-torch [-- --models mlp,lenet5,resnet20 --modes plain,qat --rounds 3
//                              --threads 1 --simd128 --unfused --json out.json]
// The parq-ts process runs the kernels as the CLI, Chrome 114+ and Node 22 run them: with
// relaxed SIMD (fused multiply-adds in the convolutions' GEMM loops,
// src/backend/wasm/simd/index.ts), which Node 20 has behind a V8 flag that selectBackend's
// `simd: 'relaxed'` turns on. --simd128: the SIMD128 module only (`parq train --simd simd128`,
// and Node 20 running the library with `simd` unset). The header says which ran;
// a line after the rounds, which prox module the PARQ map settled on (the same bits either
// way: src/prox/simd/variant-tuner.ts times both on their first calls).
// parq-ts's QAT step runs each quantized variable's momentum update and PARQ map as one
// kernel (src/optim/fused-step.ts; the same bits as tfjs's momentum step and the map
// composed), as QuantOptimizer does by default; --unfused: composed (fuseBaseStep false), the
// way to see what the fusion saves. The plain step is tfjs's own tf.train.momentum either way.
// The PyTorch side runs with $PARQ_TORCH_PYTHON, else /usr/bin/python3, else python3: the
// first that imports torch; none does: one line says so and only parq-ts is measured.
// QAT on the PyTorch side needs the reference `parq` package: $PARQ_REF (default
// /work/ref/parq) is put on PYTHONPATH.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const BATCH = Number(opt('batch', '64'));
/**
 * Steps of each mode a round, by model (~0.8-4 s of CPU), in blocks of BLOCK steps: the small
 * models run more blocks, since single block pairs of their QAT / plain scatter by +-0.3 on a
 * shared host and the median over ~36 of them still moved by +-0.04 from run to run.
 */
const STEPS = { mlp: 120, lenet5: 40, resnet20: 10 };
/** Steps a block: the QAT refresh period, so every QAT block costs the same. */
const BLOCK = 10;

/** A line-protocol server in a child process: send(request) -> the next JSON line. */
function server(cmd, argv, env) {
  const proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = readline.createInterface({ input: proc.stdout });
  const waiting = [];
  const queued = [];
  lines.on('line', (l) => {
    const msg = JSON.parse(l);
    const w = waiting.shift();
    if (w) w(msg);
    else queued.push(msg);
  });
  const next = () =>
    queued.length > 0 ? Promise.resolve(queued.shift()) : new Promise((r) => waiting.push(r));
  return {
    next,
    send: (req) => {
      proc.stdin.write(JSON.stringify(req) + '\n');
      return next();
    },
    close: () => proc.stdin.end(),
  };
}

function findTorchPython() {
  const candidates = [process.env.PARQ_TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function parent() {
  const models = opt('models', 'mlp,lenet5,resnet20').split(',');
  const modes = opt('modes', 'plain,qat').split(',');
  const rounds = Number(opt('rounds', '3'));
  const threads = opt('threads', '1');
  console.log(
    `node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ` +
      `load ${os.loadavg()[0].toFixed(2)}; batch ${BATCH}, ${rounds} rounds, parq-ts wasm ${threads} thread(s)`,
  );
  const ts = server(process.execPath, [
    fileURLToPath(import.meta.url),
    '--child',
    '--threads',
    threads,
    ...(args.includes('--simd128') ? ['--simd128'] : []),
    ...(args.includes('--unfused') ? ['--unfused'] : []),
  ]);
  const tsHello = await ts.next();
  if (tsHello.notice) console.log(`parq-ts: ${tsHello.notice}`);
  console.log(`parq-ts: SIMD kernels module ${tsHello.simd ?? 'none'}`);
  console.log(
    `parq-ts: QAT step ${tsHello.fused ? 'fused (momentum update + prox map, one kernel a quantized variable)' : 'composed (--unfused)'}`,
  );
  const py = findTorchPython();
  let torch = null;
  let torchQat = false;
  if (py === null) {
    console.log('PyTorch: no python3 here imports torch; measuring parq-ts only');
  } else {
    const ref = process.env.PARQ_REF ?? '/work/ref/parq';
    const env = { ...process.env };
    if (existsSync(ref)) env.PYTHONPATH = [ref, env.PYTHONPATH].filter(Boolean).join(':');
    env.OMP_NUM_THREADS = '1';
    torch = server(py, [path.join(here, 'reference', 'vs_torch.py')], env);
    const hello = await torch.next();
    torchQat = hello.qat;
    console.log(
      `PyTorch ${hello.torch} (${py}), 1 thread${torchQat ? '' : '; no reference parq package: QAT on parq-ts only'}`,
    );
  }
  /** samples per CPU-second, a value a round, by `${side} ${model} ${mode}`. */
  const rates = new Map();
  /** QAT / plain CPU time of each pair of adjacent blocks (ABBA), by `${side} ${model}`. */
  const blockPairs = new Map();
  const push = (map, key, v) => map.set(key, [...(map.get(key) ?? []), ...v]);
  const sum = (v) => v.reduce((a, b) => a + b, 0);
  /** Which prox module parq-ts's PARQ map (per tensor) runs, as of its last reply. */
  let proxModule = null;
  for (let round = 0; round < rounds; round++) {
    for (const model of models) {
      const req = { model, modes, steps: STEPS[model] ?? BLOCK, block: BLOCK, batch: BATCH };
      const sides = [['parq-ts', ts, modes]];
      const torchModes = modes.filter((m) => m === 'plain' || torchQat);
      if (torch && torchModes.length > 0) sides.push(['pytorch', torch, torchModes]);
      if (round % 2 === 1) sides.reverse();
      for (const [side, srv, sideModes] of sides) {
        // the first block of a request alternates between the modes from round to round
        const order = round % 2 === 0 ? sideModes : [...sideModes].reverse();
        const r = await srv.send({ ...req, modes: order });
        if (r.error) throw new Error(`${side} ${model}: ${r.error}`);
        if (r.prox) proxModule = r.prox;
        for (const mode of sideModes) {
          const t = r.cpu_s[mode];
          push(rates, `${side} ${model} ${mode}`, [(r.samples * t.length) / sum(t)]);
        }
        if (r.cpu_s.plain && r.cpu_s.qat) {
          push(
            blockPairs,
            `${side} ${model}`,
            r.cpu_s.qat.map((q, i) => q / r.cpu_s.plain[i]),
          );
        }
      }
    }
    process.stdout.write(`round ${round + 1}/${rounds} done\n`);
  }
  ts.close();
  torch?.close();
  if (proxModule) {
    // both prox modules give the same bits; the maps keep the one their first calls timed faster
    console.log(`parq-ts: PARQ prox map on the ${proxModule} module (timed choice)`);
  }

  const get = (side, model, mode) => {
    const v = rates.get(`${side} ${model} ${mode}`);
    return v ? median(v) : null;
  };
  /** The rounds' own ratios a[i] / b[i] (null when either side is missing). */
  const paired = (a, b) => {
    const ra = rates.get(a);
    const rb = rates.get(b);
    return ra && rb ? ra.map((x, i) => x / rb[i]) : null;
  };
  const f = (v) => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const spread = (v, digits, unit = '') =>
    v == null
      ? '-'
      : `${median(v).toFixed(digits)}${unit} (${Math.min(...v).toFixed(digits)}-${Math.max(...v).toFixed(digits)})`;
  console.log(
    "\nsamples per CPU-second (median of rounds); parq-ts / PyTorch: median of the rounds' ratios (lowest-highest):",
  );
  console.log('| model | mode | parq-ts | PyTorch | parq-ts / PyTorch |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  const results = [];
  for (const model of models) {
    for (const mode of modes) {
      const a = get('parq-ts', model, mode);
      const b = get('pytorch', model, mode);
      const r = paired(`parq-ts ${model} ${mode}`, `pytorch ${model} ${mode}`);
      results.push({
        model,
        mode,
        parqTs: a,
        pytorch: b,
        ratio: r && median(r),
        runs: {
          ts: rates.get(`parq-ts ${model} ${mode}`),
          torch: rates.get(`pytorch ${model} ${mode}`),
        },
      });
      console.log(`| ${model} | ${mode} | ${f(a)} | ${f(b)} | ${spread(r, 2, 'x')} |`);
    }
  }
  if (modes.includes('plain') && modes.includes('qat')) {
    console.log(
      `\nQAT / plain step time: median over pairs of adjacent blocks of ${BLOCK} steps (lowest-highest):`,
    );
    console.log('| model | parq-ts | PyTorch |');
    console.log('| --- | ---: | ---: |');
    for (const model of models) {
      const q = (side) => spread(blockPairs.get(`${side} ${model}`) ?? null, 3);
      const row = results.find((x) => x.model === model && x.mode === 'qat');
      const p = blockPairs.get(`parq-ts ${model}`);
      if (row && p) row.qatOverPlain = median(p);
      console.log(`| ${model} | ${q('parq-ts')} | ${q('pytorch')} |`);
    }
  }
  const out = opt('json', null);
  if (out) {
    writeFileSync(
      out,
      JSON.stringify(
        {
          node: process.version,
          cores: os.cpus().length,
          simd: tsHello.simd,
          prox: proxModule,
          fused: tsHello.fused,
          batch: BATCH,
          rounds,
          results,
        },
        null,
        2,
      ) + '\n',
    );
  }
}

/** The parq-ts server: one model + optimizer per (model, mode), momentum SGD on wasm. */
async function child(threads) {
  // relaxed SIMD as the CLI runs it (also where the runtime has it behind a flag: Node 20),
  // unless --simd128 (the SIMD128 module on any runtime): selectBackend's `simd`
  const simd128 = args.includes('--simd128');
  const tf = await import('@tensorflow/tfjs');
  const parq = await import('../dist/index.js');
  const { selectBackend } = await import('../dist/backend/select.js');
  const { buildModel, logitsModel } = await import('../dist/models/index.js');
  const sel = await selectBackend('wasm', { threads, simd: simd128 ? 'simd128' : 'relaxed' });
  const { wasmSimdInUse } = await import('../dist/backend/wasm/simd/index.js');
  const simd = wasmSimdInUse();
  const { simdProxFor } = await import('../dist/prox/simd/index.js');
  const { PROX_MODES } = await import('../dist/prox/kernel-modes.js');
  // the PARQ map's module for a per-tensor group of the MLP's first kernel's size
  const proxModule = () =>
    simdProxFor(tf.backend().wasm)?.variant(PROX_MODES.parq, false, 200704) ?? null;
  const fused = !args.includes('--unfused');
  console.log(
    JSON.stringify({ ready: true, backend: sel.backend, notice: sel.notice, simd, fused }),
  );
  const SHAPES = { mlp: [784], lenet5: [28, 28, 1], resnet20: [32, 32, 3] };
  const runners = new Map();
  const makeRunner = (model, mode, batch) => {
    const net = logitsModel(
      buildModel(model, { inputShape: SHAPES[model], numClasses: 10, seed: 0 }),
    );
    const base = tf.train.momentum(0.01, 0.9);
    const optimizer =
      mode === 'plain'
        ? base
        : new parq.QuantOptimizer({
            base,
            quantizer: parq.quantizerByName('lsbq', 2),
            prox: new parq.ProxPARQ({ annealStart: 0, annealEnd: 1000 }),
            bits: 2,
            quantPeriod: 10,
            fuseBaseStep: fused,
          });
    const x = tf.randomNormal([batch, ...SHAPES[model]], 0, 1, 'float32', 7);
    const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 8), 10);
    const step = () =>
      optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, net.apply(x, { training: true })),
        true,
      );
    for (let i = 0; i < 3; i++) step().dispose();
    return step;
  };
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const req = JSON.parse(line);
    const steps = {};
    for (const mode of req.modes) {
      const key = `${req.model} ${mode} ${req.batch}`;
      if (!runners.has(key)) runners.set(key, makeRunner(req.model, mode, req.batch));
      steps[mode] = runners.get(key);
    }
    // one step of each mode untimed: the other side ran last, so the first block would start cold
    for (const mode of req.modes) steps[mode]().dispose();
    const cpu = Object.fromEntries(req.modes.map((m) => [m, []]));
    for (let b = 0; b < req.steps / req.block; b++) {
      for (const mode of b % 2 === 0 ? req.modes : [...req.modes].reverse()) {
        const c0 = process.cpuUsage();
        let loss;
        for (let i = 0; i < req.block; i++) {
          loss?.dispose();
          loss = steps[mode]();
        }
        loss.dataSync();
        loss.dispose();
        const c = process.cpuUsage(c0);
        cpu[mode].push((c.user + c.system) / 1e6);
      }
    }
    console.log(JSON.stringify({ cpu_s: cpu, samples: req.block * req.batch, prox: proxModule() }));
  }
}

if (args[0] === '--child') await child(Number(opt('threads', '1')));
else await parent();
