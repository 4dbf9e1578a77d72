// Protocol mlp-mnist10k, side by side with the PyTorch reference (issue 6).
// Runs every cell of ../shared/reference/mlp-mnist10k.md (method x quantizer x
// bits, 3 seeds) through the public CLI (`parq train`, whose defaults are the
// protocol), one process per run, `--jobs` at a time, and writes
// bench/results/parity.json and the table into BENCHMARKS.md. Needs only Node:
// `--parq` names the CLI (default `node bin/parq.js`; a single-file bundle from
// scripts/bundle-cli.mjs works too, e.g. on a machine without node_modules).
//   npm run bench:parity [-- --jobs 16 --seeds 3 --epochs 20 --backend wasm --cells parq:lsbq:2,...]
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

// ---- driver ------------------------------------------------------------------
const jobs = Number(flag('jobs', String(os.cpus().length)));
const seeds = Number(flag('seeds', '3'));
const epochs = Number(flag('epochs', '20'));
const backend = flag('backend', 'wasm');

const reference = parseReference(
  readFileSync(`${flag('reference', `${here}../../shared/reference`)}/mlp-mnist10k.md`, 'utf8'),
);
let cells = reference;
const only = flag('cells', '');
const parqCommand = flag('parq', `${process.execPath} ${here}../bin/parq.js`).split(' ');
if (only) {
  const want = new Set(only.split(','));
  cells = reference.filter((c) =>
    want.has(`${c.method}:${c.quantizer}:${c.bits === 0 ? 'ternary' : c.bits}`),
  );
}

function parseReference(md) {
  const rows = [];
  for (const line of md.split('\n')) {
    const m = line.match(
      /^\|\s*(\w+)\s*\|\s*(\w+)\s*\|\s*([\w ()]+?)\s*\|\s*([\d.]+)\s*±\s*([\d.]+)\s*\|$/,
    );
    if (!m) continue;
    const bitsText = m[3];
    const bits = bitsText === 'ternary' ? 0 : /float/.test(bitsText) ? 'float' : Number(bitsText);
    rows.push({ method: m[1], quantizer: m[2], bits, refMean: Number(m[4]), refSd: Number(m[5]) });
  }
  if (rows.length === 0) throw new Error('no reference rows found in mlp-mnist10k.md');
  return rows;
}

const tasks = [];
for (const cell of cells)
  for (let s = 0; s < seeds; s++) tasks.push({ ...cell, seed: s, epochs, backend });

function runTask(task) {
  const out = mkdtempSync(join(os.tmpdir(), 'parq-parity-'));
  const cli = [
    ...parqCommand.slice(1),
    'train',
    '--quiet',
    '--overwrite',
    '--out',
    out,
    '--method',
    task.method,
    '--quantizer',
    task.quantizer === 'none' ? 'lsbq' : task.quantizer,
    '--bits',
    String(task.bits === 'float' ? 2 : task.bits),
    '--seed',
    String(task.seed),
    '--epochs',
    String(task.epochs),
    '--eval-every',
    '0',
    '--backend',
    task.backend,
  ];
  return new Promise((resolve, reject) => {
    execFile(parqCommand[0], cli, { maxBuffer: 1 << 24 }, (err, _stdout, stderr) => {
      try {
        if (err) throw new Error(`run ${JSON.stringify(task)} failed: ${stderr || err.message}`);
        const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
        resolve({
          ...task,
          accuracy: 100 * m.final.testAccuracy,
          maxDistinct: Math.max(0, ...m.quantized.map((q) => q.maxDistinctPerGroup)),
          seconds: m.timing?.wallSeconds ?? NaN,
          usedBackend: m.backend,
        });
      } catch (e) {
        reject(e);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });
}

/** Run lines of earlier logs (`--logs a.log,b.log`): merge runs made elsewhere, e.g. split across machines. */
function runsFromLogs(files) {
  const runs = [];
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = line.match(
        /^(\w+) (\w+) (\w+) seed (\d+): ([\d.]+)% \((\d+) s(?:, \d+\/\d+)?(?:, levels (\d+))?\)/,
      );
      if (!m) continue;
      const bits = m[3] === 'float' ? 'float' : Number(m[3]);
      const twin = runs.find(
        (r) =>
          r.method === m[1] && r.quantizer === m[2] && r.bits === bits && r.seed === Number(m[4]),
      );
      if (twin) {
        // the same run on two machines: same seed and backend must give the same result
        if (twin.accuracy !== Number(m[5]))
          console.log(`note: ${line} differs from an earlier log (${twin.accuracy}%)`);
        continue;
      }
      runs.push({
        method: m[1],
        quantizer: m[2],
        bits,
        seed: Number(m[4]),
        accuracy: Number(m[5]),
        seconds: Number(m[6]),
        maxDistinct: m[7] === undefined ? NaN : Number(m[7]),
      });
    }
  }
  return runs;
}

const started = Date.now();
const logs = flag('logs', '');
const results = logs ? runsFromLogs(logs.split(',')) : [];
if (logs) tasks.length = 0;
let next = 0;
async function lane() {
  while (next < tasks.length) {
    const task = tasks[next++];
    const r = await runTask(task);
    results.push(r);
    console.log(
      `${r.method} ${r.quantizer} ${r.bits} seed ${r.seed}: ${r.accuracy.toFixed(2)}% (${r.seconds.toFixed(0)} s, ${results.length}/${tasks.length})`,
    );
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, lane));

const meanSd = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, sd: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
};
const table = cells.map((c) => {
  const runs = results.filter(
    (r) => r.method === c.method && r.quantizer === c.quantizer && r.bits === c.bits,
  );
  const { mean, sd } = meanSd(runs.map((r) => r.accuracy));
  return {
    ...c,
    mean,
    sd,
    diff: mean - c.refMean,
    flagged: Math.abs(mean - c.refMean) > 0.3,
    maxDistinct: Math.max(...runs.map((r) => r.maxDistinct).filter((v) => !Number.isNaN(v))),
    runs: runs.map((r) => r.accuracy),
  };
});
const meta = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
  node: process.version,
  backend,
  seeds,
  epochs,
  wallSeconds: (Date.now() - started) / 1000,
};
mkdirSync(`${here}results`, { recursive: true });
writeFileSync(`${here}results/parity.json`, JSON.stringify({ meta, table }, null, 2));

const bitsLabel = (b) => (b === 0 ? 'ternary' : b === 'float' ? '32 (float)' : String(b));
const lines = [
  `| method | quantizer | bits | parq-ts (mean ± sd) | reference | diff | levels |`,
  `| --- | --- | --- | --- | --- | --- | --- |`,
  ...table.map(
    (r) =>
      `| ${r.method} | ${r.quantizer} | ${bitsLabel(r.bits)} | ${r.mean.toFixed(2)} ± ${r.sd.toFixed(2)} | ${r.refMean.toFixed(2)} ± ${r.refSd.toFixed(2)} | ${r.diff >= 0 ? '+' : ''}${r.diff.toFixed(2)}${r.flagged ? ' **(> 0.3)**' : ''} | ${r.method === 'fp' || !Number.isFinite(r.maxDistinct) ? '-' : r.maxDistinct} |`,
  ),
];
console.log(lines.join('\n'));
console.log(
  `${table.filter((r) => !r.flagged).length} within 0.3 points, ${table.filter((r) => r.flagged).length} flagged; ${meta.wallSeconds.toFixed(0)} s on ${meta.machine}`,
);

const section = [
  '<!-- parity:start -->',
  logs
    ? `Merged by \`node bench/parity.mjs --logs ${logs}\` from runs of \`npm run bench:parity -- --seeds ${seeds} --epochs ${epochs} --backend ${backend}\` made on several machines (see below), ${meta.date.slice(0, 10)}. "levels": the most distinct values in any quantized kernel at the end (where the run logged it).`
    : `Command: \`npm run bench:parity -- --jobs ${jobs} --seeds ${seeds} --epochs ${epochs} --backend ${backend}\`, ${meta.date.slice(0, 10)}, ${meta.machine}, Node ${meta.node}, backend ${backend}; ${meta.wallSeconds.toFixed(0)} s wall. "levels": the most distinct values in any quantized kernel at the end.`,
  '',
  ...lines,
  '<!-- parity:end -->',
].join('\n');
const benchPath = `${here}../BENCHMARKS.md`;
if (existsSync(benchPath) && (only === '' || logs)) {
  const text = readFileSync(benchPath, 'utf8');
  const re = /<!-- parity:start -->[\s\S]*<!-- parity:end -->/;
  if (re.test(text)) writeFileSync(benchPath, text.replace(re, section));
}
