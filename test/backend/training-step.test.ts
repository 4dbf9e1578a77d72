// One training step of a small LeNet-like CNN and of a small residual CNN with batch norm
// (parq-ts's TrainingBatchNormalization: fused on wasm, the stock path on cpu) runs on wasm
// once parq-ts's kernels are registered (it throws without them), and gives the cpu
// backend's loss and gradients.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
  restoreStockWasmKernels,
} from '../../src/backend/wasm/register.js';
import { batchNormalization } from '../../src/models/batch-norm.js';
import { expectClose, randomArray } from './compare.js';

let seed = 1;
const init = () => tf.initializers.glorotUniform({ seed: seed++ });

/** conv 6@5x5 same + ReLU + max pool, conv 8@3x3 valid + ReLU + avg pool, dense 16, 10. */
function lenetLike(): tf.LayersModel {
  seed = 1;
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 6,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(),
        biasInitializer: tf.initializers.constant({ value: 0.01 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(),
      }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init() }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }),
    ],
  });
}

function convBn(x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number) {
  const conv = tf.layers.conv2d({
    filters,
    kernelSize,
    strides,
    padding: 'same',
    useBias: false,
    kernelInitializer: init(),
  });
  // parq-ts's layer: fused on wasm (parq-ts's kernels), tfjs-layers' own path on cpu
  return batchNormalization({}).apply(conv.apply(x)) as tf.SymbolicTensor;
}

/** Stem conv + BN + ReLU, one identity block, one downsampling block with a 1x1 shortcut. */
function residualCnn(): tf.LayersModel {
  seed = 1;
  const input = tf.input({ shape: [12, 12, 3] });
  let x = tf.layers.reLU().apply(convBn(input, 8, 3, 1)) as tf.SymbolicTensor;
  for (const [filters, strides] of [
    [8, 1],
    [16, 2],
  ]) {
    const y = convBn(
      tf.layers.reLU().apply(convBn(x, filters, 3, strides)) as tf.SymbolicTensor,
      filters,
      3,
      1,
    );
    const shortcut = strides === 1 ? x : convBn(x, filters, 1, strides);
    x = tf.layers.reLU().apply(tf.layers.add().apply([y, shortcut])) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ units: 10, activation: 'softmax', kernelInitializer: init() })
    .apply(x);
  return tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
}

interface StepResult {
  loss: number;
  grads: Record<string, Float32Array>;
  weightsAfter: Float32Array[];
  lossAfter: number;
}

/** Loss and gradients of one batch, then one SGD step and the loss after it. */
async function trainStep(
  backend: 'cpu' | 'wasm',
  make: () => tf.LayersModel,
  inputShape: number[],
): Promise<StepResult> {
  await tf.setBackend(backend);
  const model = make();
  const batch = 4;
  const x = tf.tensor(randomArray(batch * tf.util.sizeFromShape(inputShape), 3), [
    batch,
    ...inputShape,
  ]);
  const y = tf.oneHot(tf.tensor1d([1, 4, 7, 9], 'int32'), 10);
  const lossFn = () =>
    tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
  const { value, grads } = tf.variableGrads(
    lossFn,
    model.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  const result: StepResult = {
    loss: (await value.data())[0],
    grads: {},
    weightsAfter: [],
    lossAfter: 0,
  };
  for (const [name, g] of Object.entries(grads))
    result.grads[name] = Float32Array.from(await g.data());
  tf.train.sgd(0.1).applyGradients(grads);
  result.weightsAfter = await Promise.all(
    model.trainableWeights.map(async (w) => Float32Array.from(await w.read().data())),
  );
  result.lossAfter = (await tf.tidy(lossFn).data())[0];
  tf.dispose([x, y, value, ...Object.values(grads)]);
  model.dispose();
  return result;
}

async function expectSameStep(make: () => tf.LayersModel, inputShape: number[]): Promise<void> {
  const cpu = await trainStep('cpu', make, inputShape);
  const wasm = await trainStep('wasm', make, inputShape);
  expect(Number.isFinite(wasm.loss)).toBe(true);
  expectClose([wasm.loss], [cpu.loss], 1e-5);
  // Variable names differ between the two model instances; their order does not.
  const cpuGrads = Object.values(cpu.grads);
  const wasmGrads = Object.values(wasm.grads);
  expect(wasmGrads.length).toBe(cpuGrads.length);
  cpuGrads.forEach((g, i) => expectClose(wasmGrads[i], g, 1e-4));
  cpu.weightsAfter.forEach((w, i) => expectClose(wasm.weightsAfter[i], w, 1e-5));
  expectClose([wasm.lossAfter], [cpu.lossAfter], 1e-5);
  expect(wasm.lossAfter).toBeLessThan(wasm.loss);
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('a training step on wasm', () => {
  it('fails without parq-ts kernels: Conv2DBackpropFilter is missing in tfjs-backend-wasm', async () => {
    if (tf.getKernel('Conv2DBackpropFilter', 'wasm') != null) return; // a later tfjs has it
    await expect(trainStep('wasm', lenetLike, [12, 12, 1])).rejects.toThrow(/Conv2DBackpropFilter/);
  });

  it('LeNet-like CNN: same loss, gradients and updated weights as cpu', async () => {
    registerWasmTrainingKernels();
    replaceSlowWasmKernels();
    await expectSameStep(lenetLike, [12, 12, 1]);
  });

  it('residual CNN with batch norm: same loss, gradients and updated weights as cpu', async () => {
    registerWasmTrainingKernels();
    replaceSlowWasmKernels();
    await expectSameStep(residualCnn, [12, 12, 3]);
  });

  it('also matches cpu with only the missing kernel added (stock wasm kernels otherwise)', async () => {
    registerWasmTrainingKernels();
    restoreStockWasmKernels();
    try {
      await expectSameStep(residualCnn, [12, 12, 3]);
    } finally {
      replaceSlowWasmKernels();
    }
  });

  it('keeps wasm memory flat over training steps (no leaked intermediates)', async () => {
    registerWasmTrainingKernels();
    replaceSlowWasmKernels();
    await tf.setBackend('wasm');
    for (const make of [lenetLike, residualCnn]) {
      const model = make();
      model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
      const shape = model.inputs[0].shape.slice(1) as number[];
      const x = tf.tensor(randomArray(8 * tf.util.sizeFromShape(shape), 4), [8, ...shape]);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
      const backend = tf.backend() as unknown as {
        numDataIds(): number;
        wasm: { HEAPU8: Uint8Array };
      };
      await model.trainOnBatch(x, y);
      await model.trainOnBatch(x, y);
      const tensors = tf.memory().numTensors;
      const dataIds = backend.numDataIds();
      const heapBytes = backend.wasm.HEAPU8.byteLength;
      for (let i = 0; i < 5; i++) await model.trainOnBatch(x, y);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(backend.numDataIds()).toBe(dataIds);
      // The wasm heap does not grow either (freed intermediates are reused, the SIMD
      // kernels' scratch included).
      expect(backend.wasm.HEAPU8.byteLength).toBe(heapBytes);
      tf.dispose([x, y]);
      model.dispose();
    }
  });

  it('model.fit trains the residual CNN on wasm', async () => {
    registerWasmTrainingKernels();
    replaceSlowWasmKernels();
    await tf.setBackend('wasm');
    const model = residualCnn();
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const x = tf.tensor(randomArray(16 * 12 * 12 * 3, 9), [16, 12, 12, 3]);
    const y = tf.oneHot(
      tf.tensor1d(
        [...Array(16).keys()].map((i) => i % 10),
        'int32',
      ),
      10,
    );
    const history = await model.fit(x, y, { epochs: 5, batchSize: 8, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    tf.dispose([x, y]);
    model.dispose();
  });
});
