// CPU time (user + system, ms) of importing each module in a fresh Node process: what a CLI
// start pays before it does anything. Run after `npm run build`:
//   node bench/import-cost.mjs
// CPU time rather than wall time: the development machine is shared and loaded.
import { execFileSync } from 'node:child_process';

const probe = `const t0 = process.cpuUsage(); await import(process.argv[1]);
const u = process.cpuUsage(t0); console.log(((u.user + u.system) / 1e3).toFixed(0));`;
const modules = [
  'commander',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  new URL('../dist/index.js', import.meta.url).href,
  new URL('../dist/cli/main.js', import.meta.url).href,
];
for (const m of modules) {
  const runs = [0, 1, 2].map(() =>
    Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', probe, m], {
        cwd: new URL('..', import.meta.url),
        encoding: 'utf8',
      }).trim(),
    ),
  );
  runs.sort((a, b) => a - b);
  console.log(`${m.replace(/^.*\/dist\//, 'dist/')}: ${runs[1]} ms CPU (median of 3)`);
}
