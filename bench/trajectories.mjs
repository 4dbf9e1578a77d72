// Parity step by step: replays the reference's training trajectories (parq conformance on
// parq-trajectory/1 files) on cpu and wasm and prints, per case, the steps compared, the max
// loss difference and the first failing step, as the markdown table in BENCHMARKS.md; the raw
// results go to bench/results/trajectories.json. CPU time (process.cpuUsage of the children)
// because the development machine is shared: each run reports its own process.cpuUsage().
//   node bench/trajectories.mjs [--backends cpu,wasm] [--files a.json,b.json]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const backends = arg('backends', 'cpu,wasm').split(',');
const files = arg(
  'files',
  '../shared/conformance/trajectories.json,conformance/trajectories-48-24-seed1.json',
).split(',');

const runs = [];
for (const file of files) {
  for (const backend of backends) {
    const r = spawnSync(
      process.execPath,
      ['bin/parq.js', 'conformance', file, '--backend', backend, '--json'],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      },
    );
    if (r.status !== 0 && r.status !== 1)
      throw new Error(`${file} on ${backend}: ${r.stderr.trim()}`);
    const report = JSON.parse(r.stdout);
    runs.push(report);
  }
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/trajectories.json', `${JSON.stringify(runs, null, 1)}\n`);

console.log(
  '| file | case | backend | steps compared | max loss difference | first failing step |',
);
console.log('|---|---|---|---:|---:|---:|');
for (const run of runs) {
  for (const c of run.results) {
    const first = c.firstFailingStep === null ? '-' : String(c.firstFailingStep);
    console.log(
      `| ${run.file.split('/').pop()} | ${c.name} | ${run.backend} | ${c.compared} | ${c.maxLossDiff.toExponential(2)} | ${first}${c.finalFailures.length ? ' (final)' : ''} |`,
    );
  }
}
for (const run of runs)
  console.log(
    `\n${run.file} on ${run.backend}: ${run.passed} passed, ${run.failed} failed, ${run.cpuSeconds.toFixed(1)} s CPU`,
  );
