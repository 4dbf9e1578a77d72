// Fused prox kernel on the wasm backend: the JavaScript loop (proxLoop over the
// heap) vs the WebAssembly SIMD module (src/prox/simd/prox.wat), per map, for
// one per-tensor group of 200k weights (normal, sd 0.05) and 2-bit LSBQ levels,
// then per channel on a 784x256 Dense kernel (view [1, 784, 256], 4 levels per
// channel): the JS loop vs the channel-lanes SIMD function (one lane per channel).
// Both SIMD modules where the runtime has relaxed SIMD (turned on here, as Node 22 and
// Chrome 114+ have it): SIMD128, and the relaxed one (laneselect level picks, the same bits).
// Reports the median of 30 timed calls after warm-up (the three take turns), wall and CPU,
// then which module the library's own timed choice (src/prox/simd/variant-tuner.ts) takes here.
// Usage: npx tsc -p tsconfig.build.json && node bench/prox-kernel.mjs [--n 200000]
import v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { proxLoop } from '../dist/prox/fused-kernel.js';
import { heapMemoryOf, simdProxModule, simdProxOn } from '../dist/prox/simd/index.js';

// before any module is compiled (the prox module compiles at its first use)
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const args = process.argv.slice(2);
const nArg = args.indexOf('--n');
const n = nArg >= 0 ? Number(args[nArg + 1]) : 200_000;
const reps = 30;

await tf.setBackend('wasm');
const backend = tf.backend();
const memory = heapMemoryOf(backend.wasm);
const simd = memory && simdProxModule(memory, 'simd128');
const relaxedSimd = memory && simdProxModule(memory, 'relaxed');
if (!simd) throw new Error('WebAssembly SIMD module unavailable on this runtime');
const variants = relaxedSimd ? [simd, relaxedSimd] : [simd];

let s = 1;
const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
const w = new Float32Array(n);
for (let i = 0; i < n; i++)
  w[i] = 0.05 * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
const levels = [-0.08, -0.02, 0.025, 0.09];
const x = tf.tensor3d(w, [1, n, 1]);
const out = tf.zeros([1, n, 1]);
const lv = new Float32Array(levels);

// the same tables the kernel builds (GroupTables), for the SIMD call
function tables(mode) {
  const k = levels.length;
  const lower = new Float32Array(k + 1);
  const upper = new Float32Array(k + 1);
  const center = new Float32Array(k + 1);
  for (let j = 0; j <= k; j++) {
    lower[j] = lv[j > 0 ? j - 1 : 0];
    upper[j] = lv[j < k ? j : k - 1];
    center[j] = Math.fround(Math.fround(lower[j] + upper[j]) * 0.5);
  }
  const th = new Float64Array(4).fill(Infinity);
  const mid = mode !== 1;
  for (let t = 0; t < (mid ? k - 1 : k); t++)
    th[t] = mid ? Math.fround(Math.fround(lv[t] + lv[t + 1]) * 0.5) : lv[t];
  return { lv, lower, upper, center, th };
}

/** Medians of wall and CPU ms per call of each function, the functions taking turns. */
function time(...fns) {
  for (let i = 0; i < 5; i++) fns.forEach((fn) => fn());
  const wall = fns.map(() => []);
  const cpu = fns.map(() => []);
  for (let i = 0; i < reps; i++) {
    // each rep starts with the next function: none always runs after the same one
    fns.forEach((_, turn) => {
      const j = (i + turn) % fns.length;
      const fn = fns[j];
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      fn();
      const c = process.cpuUsage(c0);
      wall[j].push(performance.now() - t0);
      cpu[j].push((c.user + c.system) / 1000);
    });
  }
  const med = (a) => a.sort((p, q) => p - q)[a.length >> 1];
  return fns.map((_, j) => ({ wall: med(wall[j]), cpu: med(cpu[j]) }));
}

const f = (v) => v.toFixed(3).padStart(9);
const header =
  'map              JS wall   JS cpu SIMD wall SIMD cpu speed-up' +
  (variants.length > 1 ? ' relax wall relax cpu vs SIMD128' : ' (no relaxed SIMD here)');
function row(name, [js, sm, rx]) {
  const relaxed = rx ? `${f(rx.wall)}${f(rx.cpu)}   ${(sm.wall / rx.wall).toFixed(2)}x` : '';
  return `${name.padEnd(14)}${f(js.wall)}${f(js.cpu)}${f(sm.wall)}${f(sm.cpu)}   ${(js.wall / sm.wall).toFixed(1)}x ${relaxed}`;
}

const maps = [
  ['hard', 0, 0],
  ['parq s=0.37', 1, 0.37],
  ['parq s=1e-8', 1, 1e-8],
  ['relax θ=0.3', 2, 0.3],
];
console.log(
  `fused prox kernel, ${n} weights, 4 levels, wasm backend (ms per call, median of ${reps})`,
);
console.log(header);
for (const [name, mode, param] of maps) {
  const heap = () => [backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out)];
  const js = () => {
    const [xs, os] = heap();
    proxLoop(xs, lv, [1, n, 1], levels.length, mode, param, os);
  };
  const g = tables(mode);
  const run = (v) => () => {
    const [xs, os] = heap();
    v.run(mode, xs.byteOffset, os.byteOffset, n, g, param);
  };
  console.log(row(name, time(js, ...variants.map(run))));
}

// per channel: [in, out] = [784, 256], channel = last axis, levels [1, 4, 256]
const [M, C] = [784, 256];
const wc = new Float32Array(M * C);
for (let i = 0; i < wc.length; i++)
  wc[i] = 0.05 * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
const lvc = new Float32Array(4 * C);
for (let c = 0; c < C; c++) levels.forEach((l, j) => (lvc[j * C + c] = l * (0.5 + c / C)));
const xc = tf.tensor3d(wc, [1, M, C]);
const oc = tf.zeros([1, M, C]);
const qc = tf.tensor3d(lvc, [1, 4, C]);
console.log(
  `\nper channel, [${M}, ${C}] kernel, 4 levels per channel (ms per call, median of ${reps})`,
);
console.log(header);
for (const [name, mode, param] of maps) {
  const heap = () => [xc, qc, oc].map((t) => backend.typedArrayFromHeap(t));
  const js = () => {
    const [xs, ls, os] = heap();
    proxLoop(xs, ls, [1, M, C], 4, mode, param, os);
  };
  const lanes = (v) => () => {
    const [xs, ls, os] = heap();
    v.lanes(mode, xs.byteOffset, os.byteOffset, [1, M, C], ls.byteOffset, 4, param);
  };
  console.log(row(name, time(js, ...variants.map(lanes))));
}

// what the library's own instance (both modules, src/prox/simd/variant-tuner.ts) settles on
// here for contiguous PARQ and BinaryRelax calls of n weights, after its timed calls
if (relaxedSimd) {
  const tuned = simdProxOn(memory, 'relaxed');
  const picks = [];
  for (const [name, mode, param] of [maps[1], maps[3]]) {
    const g = tables(mode);
    const [xs, os] = [x, out].map((t) => backend.typedArrayFromHeap(t));
    for (let i = 0; i < 40 && tuned.variant(mode, false, n) === 'timing'; i++)
      tuned.run(mode, xs.byteOffset, os.byteOffset, n, g, param);
    picks.push(`${name}: ${tuned.variant(mode, false, n)}`);
  }
  console.log(`\nthe library's timed choice here (contiguous, ${n} weights): ${picks.join(', ')}`);
}
tf.dispose([x, out, xc, oc, qc]);
