// ONNX export sizes beside the packed file and float32, and agreement with tfjs in onnxruntime-node.
//
//   npm run bench:onnx        (= npm run build && node bench/onnx-sizes.mjs)
//
// Models: the protocol mlp-mnist10k MLP (784-256-256-10) and ResNet-20 (32x32x3), seed 0, every
// Dense/Conv kernel set to its UnifQuantizer levels (sizes depend only on shapes, bits and
// granularity, not on training): MLP at 2 bits per tensor, 4 and 3 bits per channel, mixed
// precision per layer (fc1 4, fc2 2, logits 8 bits, as --layer-bits 'fc1/*=4,logits/*=8,*=2') and
// LSBQ 2 bits per channel; ResNet-20 at 4 bits per channel. For each: float32 (the weights' bytes, 4 a parameter),
// packed (exportQuantized), onnx (exportOnnx), and the max |probability difference| between
// onnxruntime-node and tfjs (cpu backend) on the MNIST test split (MLP) or 64 random inputs
// (ResNet-20). CPU time (process.cpuUsage) of each export; the machine is shared and loaded.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import {
  exportOnnx,
  exportQuantized,
  LSBQuantizer,
  mlp,
  quantizeTensor,
  resnet20,
  UnifQuantizer,
} from '../dist/index.js';
import { loadDataset, toTensors } from '../dist/node.js';

const ort = createRequire(import.meta.url)('onnxruntime-node');
await tf.setBackend('cpu');

/** `bits`: one width for every kernel, or (mixed precision) a width by kernel name. */
function quantizeKernels(model, quantizer, bits, granularity) {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length || !['Dense', 'Conv2D'].includes(layer.getClassName())) continue;
    const b = typeof bits === 'number' ? bits : bits[`${layer.name}/kernel`];
    if (b === undefined) continue;
    const { q, levels } = quantizeTensor(quantizer, ws[0], b, granularity);
    layer.setWeights([q, ...ws.slice(1)]);
    tf.dispose([q, levels]);
  }
}

const cpuMs = (f) => async () => {
  const t = process.cpuUsage();
  const r = await f();
  const u = process.cpuUsage(t);
  return [r, (u.user + u.system) / 1000];
};

const data = loadDataset('mnist');
const mnist = toTensors(data.test, data.inputShape).x;
const rgb = tf.randomNormal([64, 32, 32, 3], 0, 1, 'float32', 7);
const cases = [
  [
    'MLP 784-256-256-10, uniform 2 bits per tensor',
    () => mlp({ inputShape: data.inputShape, numClasses: 10 }),
    new UnifQuantizer(),
    2,
    { kind: 'tensor' },
    mnist,
  ],
  [
    'MLP 784-256-256-10, uniform 4 bits per channel',
    () => mlp({ inputShape: data.inputShape, numClasses: 10 }),
    new UnifQuantizer(),
    4,
    { kind: 'channel' },
    mnist,
  ],
  [
    'MLP 784-256-256-10, uniform 3 bits per channel',
    () => mlp({ inputShape: data.inputShape, numClasses: 10 }),
    new UnifQuantizer(),
    3,
    { kind: 'channel' },
    mnist,
  ],
  [
    "MLP 784-256-256-10, mixed per channel (--layer-bits 'fc1/*=4,logits/*=8,*=2')",
    () => mlp({ inputShape: data.inputShape, numClasses: 10 }),
    new UnifQuantizer(),
    { 'fc1/kernel': 4, 'fc2/kernel': 2, 'logits/kernel': 8 },
    { kind: 'channel' },
    mnist,
  ],
  [
    'MLP 784-256-256-10, LSBQ 2 bits per channel',
    () => mlp({ inputShape: data.inputShape, numClasses: 10 }),
    new LSBQuantizer(),
    2,
    { kind: 'channel' },
    mnist,
  ],
  [
    'ResNet-20, uniform 4 bits per channel',
    () => resnet20({ inputShape: [32, 32, 3], numClasses: 10 }),
    new UnifQuantizer(),
    4,
    { kind: 'channel' },
    rgb,
  ],
];
console.log(
  '| model | float32 | packed | onnx | onnx / packed | onnx kernels | max abs prob diff (ORT vs tfjs) | onnx export CPU ms |',
);
console.log('| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |');
for (const [label, build, quantizer, bits, granularity, x] of cases) {
  const model = build();
  quantizeKernels(model, quantizer, bits, granularity);
  const float32 = model.countParams() * 4;
  const packed = (await exportQuantized(model, undefined, { bits, granularity })).length;
  const [{ bytes, tensors }, ms] = await cpuMs(() =>
    exportOnnx(model, undefined, { bits, granularity }),
  )();
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', x.dataSync(), x.shape) });
  const want = model.predict(x).dataSync();
  let diff = 0;
  for (let i = 0; i < want.length; i++)
    diff = Math.max(diff, Math.abs(out.output.data[i] - want[i]));
  const kinds = [
    ...new Set(
      tensors
        .filter((t) => t.name.endsWith('/kernel'))
        .map((t) => (t.encoding === 'MatMulNBits' ? `MatMulNBits ${t.bits}` : t.encoding)),
    ),
  ].join(', ');
  console.log(
    `| ${label} | ${float32} | ${packed} | ${bytes.length} | ${(bytes.length / packed).toFixed(3)} | ${kinds} | ${diff.toExponential(2)} | ${ms.toFixed(0)} |`,
  );
  await session.release();
  model.dispose();
}
