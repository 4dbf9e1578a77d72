/* global WebAssembly */
// The ceiling of a convolution on this CPU, wasm SIMD against native (issue 14): how many
// multiply-adds per CPU-second (GMAC/s) one core does
//   - in WebAssembly SIMD128 at best, as every wasm kernel (XNNPACK's and parq-ts's) computes
//     them: f32x4.mul then f32x4.add (SIMD128 has no fused multiply-add), a 4 x 2 register
//     tile as in a GEMM micro-kernel (acc[i][j] += a[i] * b[j]: 8 accumulators, 14 vector
//     registers, no memory traffic): an upper bound no wasm GEMM or convolution can pass;
//   - in a real convolution of ResNet-20's most common shape (batch 64, 32 x 32, 16 -> 16
//     channels, 3 x 3, same padding): parq-ts on wasm (the XNNPACK forward conv), and PyTorch
//     natively (oneDNN on x86), 1 thread, where python3 with torch is found (as
//     bench/vs-torch.mjs looks for it).
// Usage (after `npm run build`): node bench/simd-peak.mjs [--seconds 2]
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import wabtInit from 'wabt';
import { selectBackend } from '../dist/backend/select.js';

const args = process.argv.slice(2);
const at = args.indexOf('--seconds');
const seconds = at >= 0 ? Number(args[at + 1]) : 2;

/** The best GMAC/s of `f` (doing `macs` multiply-adds) over `seconds` of repeats. */
function best(f, macs) {
  f();
  let top = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    top = Math.max(top, macs / ((c.user + c.system) / 1e6) / 1e9);
  }
  return top;
}

const tile = [];
for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) tile.push([i, j]);
const wat = `(module (func (export "run") (param $n i32) (result f32)
  ${tile.map(([i, j]) => `(local $c${i}${j} v128)`).join(' ')}
  (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $b0 v128) (local $b1 v128)
  ${[0, 1, 2, 3].map((i) => `(local.set $a${i} (f32x4.splat (f32.const 0.${i + 1})))`).join(' ')}
  (local.set $b0 (f32x4.splat (f32.const 0.5))) (local.set $b1 (f32x4.splat (f32.const 0.25)))
  (loop $l
    ${tile.map(([i, j]) => `(local.set $c${i}${j} (f32x4.add (local.get $c${i}${j}) (f32x4.mul (local.get $a${i}) (local.get $b${j}))))`).join('\n    ')}
    (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
  (f32x4.extract_lane 0 ${tile.map(([i, j]) => `(local.get $c${i}${j})`).reduce((x, y) => `(f32x4.add ${x} ${y})`)})))`;
const wabt = await wabtInit();
const mod = wabt.parseWat('peak.wat', wat, { simd: true });
const { run } = new WebAssembly.Instance(new WebAssembly.Module(mod.toBinary({}).buffer)).exports;
mod.destroy();
const iters = 2e7;
const peak = best(() => run(iters), iters * tile.length * 4);
console.log(`wasm SIMD128 bound (mul + add, 4 x 2 tile): ${peak.toFixed(1)} GMAC/s`);

await selectBackend('wasm', { threads: 1 });
const shape = [64, 32, 32, 16];
const convMacs = 64 * 32 * 32 * 16 * 16 * 9;
const x = tf.randomNormal(shape);
const w = tf.randomNormal([3, 3, 16, 16]);
const wasmConv = best(() => {
  const y = tf.conv2d(x, w, 1, 'same');
  y.dataSync();
  y.dispose();
}, convMacs);
console.log(`parq-ts wasm conv2d [64,32,32,16] 3x3 16->16: ${wasmConv.toFixed(1)} GMAC/s`);

const py = `
import time, torch
torch.set_num_threads(1)
x = torch.randn(64, 16, 32, 32); w = torch.randn(16, 16, 3, 3)
with torch.no_grad():
    for _ in range(3): torch.nn.functional.conv2d(x, w, padding=1)
    best = 0
    end = time.time() + ${seconds}
    while time.time() < end:
        t0 = time.process_time(); torch.nn.functional.conv2d(x, w, padding=1); t = time.process_time() - t0
        best = max(best, ${convMacs} / t / 1e9)
print(f"{best:.1f}")
`;
for (const python of [process.env.PARQ_TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter(
  Boolean,
)) {
  try {
    const out = execFileSync(python, ['-c', py], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    console.log(`PyTorch native conv2d, same shape (${python}): ${out.trim()} GMAC/s`);
    process.exit(0);
  } catch {
    // next candidate
  }
}
console.log('PyTorch: no python3 here imports torch; measuring wasm only');
