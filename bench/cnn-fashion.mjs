// Protocol cnn-fashion (docs/protocol-cnn-fashion.md), the parq-ts side, and the side-by-side
// table with the PyTorch reference (bench/reference/cnn_fashion.py).
//
// run:   one `parq train` process per (model, method, bits, seed), `--jobs` at a time, with the
//        protocol's recipe; each finished run appends one JSON line to --out (same fields as the
//        reference script's lines) and prints it.
//   node bench/cnn-fashion.mjs run --models lenet5,vit-tiny --methods ste,binaryrelax,parq \
//     --bits 1,ternary,2,4 --seeds 0,1,2 [--fp] [--epochs N] [--jobs 16] [--backend wasm] \
//     [--out bench/results/cnn-fashion/parq-ts.jsonl]
// table: merges both sides' JSON lines into the table (markdown on stdout) and
//        bench/results/cnn-fashion.json.
//   node bench/cnn-fashion.mjs table --ts a.jsonl[,b.jsonl] --ref c.jsonl[,d.jsonl] [--json F]
//        "2 se": twice the standard error of the difference of the two means (sample sd), where
//        both sides have >= 2 runs; lines with `sameStart` (bench/same-start.mjs runs) are left out.
import { execFile } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { methodsReading } from '../dist/train/methods.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const [command, ...args] = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const list = (v) => v.split(',').filter((s) => s !== '');

/** The protocol's recipe, the same as bench/reference/cnn_fashion.py's RECIPE. */
const RECIPE = {
  lenet5: { epochs: 10, batch: 128, lr: 0.001 },
  'vit-tiny': { epochs: 5, batch: 128, lr: 0.001 },
};

function runTask(task, parqCommand, out) {
  const dir = mkdtempSync(join(os.tmpdir(), 'parq-cnn-fashion-'));
  const recipe = RECIPE[task.model];
  // The recipe's flags, each given only to a method that reads it (parq train refuses a flag
  // that no run of the method reads, e.g. --quantizer for fp): [flag, config field, value].
  const recipeFlags = [
    ['--quantizer', 'quantizer', 'lsbq'],
    ['--bits', 'bits', String(task.bits)],
    ['--seed', 'seed', String(task.seed)],
    ['--epochs', 'epochs', String(task.epochs ?? recipe.epochs)],
    ['--batch-size', 'batchSize', String(recipe.batch)],
    ['--optimizer', 'optimizer', 'adam'],
    ['--lr', 'lr', String(recipe.lr)],
    ['--lr-schedule', 'lrSchedule', 'cosine'],
    ['--quant-period', 'quantPeriod', '10'],
    ['--anneal-start', 'annealStart', '0'],
    ['--anneal-end', 'annealEnd', '0.9'],
    ['--steepness', 'steepness', '10'],
    ['--eval-every', 'evalEvery', '0'],
    ['--backend', 'backend', task.backend],
  ];
  const cli = [
    ...parqCommand.slice(1),
    'train',
    '--quiet',
    '--overwrite',
    '--out',
    dir,
    '--data',
    'fashion-mnist',
    '--model',
    task.model,
    '--method',
    task.method,
  ];
  for (const [name, field, value] of recipeFlags) {
    const readers = methodsReading(field);
    if (readers === null || readers.includes(task.method)) cli.push(name, value);
  }
  if (task.limitTrain) cli.push('--limit-train', String(task.limitTrain));
  return new Promise((resolve, reject) => {
    execFile(parqCommand[0], cli, { maxBuffer: 1 << 24 }, (err, _o, stderr) => {
      try {
        if (err) throw new Error(`run ${JSON.stringify(task)} failed: ${stderr || err.message}`);
        const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
        const result = {
          side: 'parq-ts',
          model: task.model,
          method: task.method,
          bits: task.method === 'fp' ? 'float' : task.bits,
          seed: task.seed,
          epochs: m.config.epochs,
          trainSamples: m.dataset.trainSamples,
          accuracy: 100 * m.final.testAccuracy,
          maxDistinct: Math.max(0, ...m.quantized.map((q) => q.maxDistinctPerGroup)),
          seconds: m.timing.wallSeconds,
          backend: m.backend,
        };
        const line = JSON.stringify(result);
        console.log(line);
        if (out) appendFileSync(out, line + '\n');
        resolve(result);
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

async function run() {
  const models = list(flag('models', 'lenet5,vit-tiny'));
  const methods = list(flag('methods', 'ste,binaryrelax,parq'));
  const bits = list(flag('bits', '1,ternary,2,4')).map((b) => (b === 'ternary' ? 0 : Number(b)));
  const seeds = list(flag('seeds', '0,1,2')).map(Number);
  const epochs = flag('epochs') === undefined ? undefined : Number(flag('epochs'));
  const limitTrain = Number(flag('limit-train', '0'));
  const backend = flag('backend', 'wasm');
  const jobs = Number(flag('jobs', String(os.cpus().length)));
  const out = flag('out', join(here, 'results', 'cnn-fashion', 'parq-ts.jsonl'));
  const parqCommand = flag(
    'parq',
    `${process.execPath} ${join(here, '..', 'bin', 'parq.js')}`,
  ).split(' ');
  for (const m of models)
    if (!RECIPE[m]) throw new Error(`unknown model '${m}' (lenet5, vit-tiny)`);
  mkdirSync(dirname(out), { recursive: true });
  const tasks = [];
  for (const seed of seeds)
    for (const model of models) {
      if (args.includes('--fp')) tasks.push({ model, method: 'fp', bits: 'float', seed });
      for (const method of methods)
        for (const b of bits) tasks.push({ model, method, bits: b, seed });
    }
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      await runTask({ ...task, epochs, limitTrain, backend }, parqCommand, out);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, lane));
}

function readLines(files) {
  return list(files).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l))
      // runs from parq-ts's start (bench/same-start.mjs) are experiments, not protocol cells
      .filter((r) => !r.sameStart),
  );
}

function table() {
  const ts = readLines(flag('ts', join(here, 'results', 'cnn-fashion', 'parq-ts.jsonl')));
  const ref = readLines(flag('ref', join(here, 'results', 'cnn-fashion', 'reference.jsonl')));
  const key = (r) => `${r.model}|${r.method}|${r.bits}|${r.epochs}|${r.trainSamples}`;
  const cells = [...new Set([...ts, ...ref].map(key))];
  const stats = (runs) => {
    if (runs.length === 0) return null;
    const xs = runs.map((r) => r.accuracy);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    // the sample variance (n - 1) for the standard error of the difference
    const variance = xs.length > 1 ? (sd * sd * xs.length) / (xs.length - 1) : NaN;
    return {
      mean,
      sd,
      n: xs.length,
      variance,
      levels: Math.max(...runs.map((r) => r.maxDistinct)),
    };
  };
  const bitsOrder = (b) => (b === 'float' ? 99 : b === 0 ? 1.5 : b);
  const rows = cells
    .map((k) => {
      const [model, method, bitsText, epochs, trainSamples] = k.split('|');
      const bits = bitsText === 'float' ? 'float' : Number(bitsText);
      const pick = (side) => side.filter((r) => key(r) === k);
      return {
        model,
        method,
        bits,
        epochs: Number(epochs),
        trainSamples: Number(trainSamples),
        ts: stats(pick(ts)),
        ref: stats(pick(ref)),
      };
    })
    .sort(
      (a, b) =>
        a.model.localeCompare(b.model) ||
        bitsOrder(a.bits) - bitsOrder(b.bits) ||
        a.method.localeCompare(b.method),
    );
  const fmt = (s) => (s ? `${s.mean.toFixed(2)}${s.n > 1 ? ` ± ${s.sd.toFixed(2)}` : ''}` : '-');
  const bitsLabel = (b) => (b === 0 ? 'ternary' : b === 'float' ? 'float' : String(b));
  const lines = [
    '| model | method | bits | epochs | parq-ts | reference | diff | 2 se | levels (ts / ref) | runs |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows.map((r) => {
      const diff = r.ts && r.ref ? r.ts.mean - r.ref.mean : NaN;
      const d = Number.isNaN(diff) ? '-' : `${diff >= 0 ? '+' : ''}${diff.toFixed(2)}`;
      // twice the standard error of the difference of the means (both sides >= 2 runs)
      const se2 =
        r.ts && r.ref && r.ts.n > 1 && r.ref.n > 1
          ? (2 * Math.sqrt(r.ts.variance / r.ts.n + r.ref.variance / r.ref.n)).toFixed(2)
          : '-';
      const lv = r.method === 'fp' ? '-' : `${r.ts?.levels ?? '-'} / ${r.ref?.levels ?? '-'}`;
      return `| ${r.model} | ${r.method} | ${bitsLabel(r.bits)} | ${r.epochs} | ${fmt(r.ts)} | ${fmt(r.ref)} | ${d} | ${se2} | ${lv} | ${r.ts?.n ?? 0} / ${r.ref?.n ?? 0} |`;
    }),
  ];
  const json = flag('json', join(here, 'results', 'cnn-fashion.json'));
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(
    json,
    JSON.stringify({ date: new Date().toISOString(), rows, parqTs: ts, reference: ref }, null, 2),
  );
  console.log(lines.join('\n'));
}

if (command === 'run') await run();
else if (command === 'table') table();
else {
  console.error('usage: node bench/cnn-fashion.mjs run|table [flags] (see the header comment)');
  process.exit(2);
}
