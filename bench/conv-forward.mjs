// Forward convolutions that are not Winograd's, on the wasm backend at batch 64 (issue 14):
// the stock kernel (XNNPACK) beside parq-ts's implicit GEMM (conv2dImplicitGemm, conv_8 in
// simd/kernels.wat), on ResNet-20's stem and stride-2 layers (3x3 and 1x1) and LeNet-5's two
// convolutions. CPU time of this process per call (process.cpuUsage), the best of --rounds
// means over --reps calls, the two interleaved round by round; the outputs compared too (max
// |difference|). Usage (after `npm run build`):
//   node bench/conv-forward.mjs [--reps 10] [--rounds 3]
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../dist/backend/select.js';
import { conv2dImplicitGemm, implicitGemmPreferred } from '../dist/backend/wasm/conv2d.js';
import { restoreStockWasmKernels, replaceSlowWasmKernels } from '../dist/backend/wasm/register.js';
import { simdKernelsFor } from '../dist/backend/wasm/simd/index.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const reps = opt('reps', 10);
const rounds = opt('rounds', 3);
await selectBackend('wasm', { threads: 1 });
const backend = tf.backend();
const simd = simdKernelsFor(backend);
if (simd === null) throw new Error('conv-forward: the SIMD module does not run here');

const SHAPES = [
  ['ResNet-20 stem', [64, 32, 32, 3], [3, 3, 3, 16], 1, 'same'],
  ['ResNet-20 16 -> 32 s2', [64, 32, 32, 16], [3, 3, 16, 32], 2, 'same'],
  ['ResNet-20 32 -> 64 s2', [64, 16, 16, 32], [3, 3, 32, 64], 2, 'same'],
  ['ResNet-20 1x1 16 -> 32 s2', [64, 32, 32, 16], [1, 1, 16, 32], 2, 'same'],
  ['ResNet-20 1x1 32 -> 64 s2', [64, 16, 16, 32], [1, 1, 32, 64], 2, 'same'],
  ['LeNet-5 conv1', [64, 28, 28, 1], [5, 5, 1, 6], 1, 'same'],
  ['LeNet-5 conv2', [64, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
];

const stock = (x, w, s, pad) => {
  restoreStockWasmKernels();
  try {
    return tf.conv2d(x, w, s, pad);
  } finally {
    replaceSlowWasmKernels();
  }
};

console.log(`batch 64, ${reps} calls x best of ${rounds} rounds, ms of CPU per call; * = default`);
console.log('| layer | x | filter | stride | stock (XNNPACK) | implicit GEMM | speed-up | max abs diff |');
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |');
for (const [name, xs, fs, s, pad] of SHAPES) {
  const x = tf.randomNormal(xs);
  const w = tf.randomNormal(fs);
  const info = tf.backend_util.computeConv2DInfo(xs, fs, s, 1, pad);
  const fns = [
    () => tf.dispose(stock(x, w, s, pad)),
    () => backend.disposeData(conv2dImplicitGemm(backend, simd, x, w, info).dataId),
  ];
  const a = stock(x, w, s, pad);
  const b = tf.engine().makeTensorFromTensorInfo(conv2dImplicitGemm(backend, simd, x, w, info));
  const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  tf.dispose([a, b]);
  const best = fns.map(() => Infinity);
  for (const f of fns) for (let i = 0; i < 3; i++) f();
  for (let r = 0; r < rounds; r++) {
    fns.forEach((f, k) => {
      const c0 = process.cpuUsage();
      for (let i = 0; i < reps; i++) f();
      const c = process.cpuUsage(c0);
      best[k] = Math.min(best[k], (c.user + c.system) / reps / 1000);
    });
  }
  const def = implicitGemmPreferred(info) ? [' ', ' *'] : [' *', ' '];
  console.log(
    `| ${name} | ${xs.join('x')} | ${fs.join('x')} | ${s} | ${best[0].toFixed(2)}${def[0]} | ` +
      `${best[1].toFixed(2)}${def[1]} | ${(best[0] / best[1]).toFixed(2)}x | ${diff.toExponential(1)} |`,
  );
  tf.dispose([x, w]);
}
