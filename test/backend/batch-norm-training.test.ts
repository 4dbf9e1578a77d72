// The fused training batch norm (src/backend/batch-norm-training.ts): on wasm with parq-ts's
// kernels (SIMD and JavaScript paths) its output, moments and gradients (through y, mean and
// variance) equal tfjs-layers' composition on the cpu backend; it leaks no tensor or heap
// buffer; TrainingBatchNormalization (src/models/batch-norm.ts) trains like the stock layer
// (same loss, gradients and moving averages), saves as a plain BatchNormalization and
// loads as itself. Identity and same-dtype Cast share the buffer (src/backend/wasm/identity.ts).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_NORM_TRAINING,
  batchNormTraining,
  batchNormTrainingGradOps,
  hasFusedBatchNormTraining,
} from '../../src/backend/batch-norm-training.js';
import type { BackendWasm } from '../../src/backend/wasm/kernel-utils.js';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
  restoreStockWasmKernels,
} from '../../src/backend/wasm/register.js';
import { simdKernelsSwitch } from '../../src/backend/wasm/simd/index.js';
import { TrainingBatchNormalization, batchNormalization } from '../../src/models/batch-norm.js';
import { expectClose, randomArray, runOn } from './compare.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  replaceSlowWasmKernels();
});
afterAll(() => {
  simdKernelsSwitch.enabled = true;
});

/** y, mean, variance and the gradients of a loss that uses all three, for x, gamma, beta. */
function bnAndGrads(shape: number[], seed: number, composed: boolean): tf.Tensor[] {
  const c = shape[shape.length - 1];
  const size = tf.util.sizeFromShape(shape);
  // an offset mean and a spread per channel, as activations have
  const x = tf.add(tf.mul(tf.tensor(randomArray(size, seed), shape), 3), 1.5);
  const gamma = tf.tensor1d(randomArray(c, seed + 1)).add(1.2) as tf.Tensor1D;
  const beta = tf.tensor1d(randomArray(c, seed + 2)) as tf.Tensor1D;
  const w = tf.tensor(randomArray(size, seed + 3), shape);
  const wm = tf.tensor1d(randomArray(c, seed + 4));
  const wv = tf.tensor1d(randomArray(c, seed + 5));
  const axes = [...Array(shape.length - 1).keys()];
  const forward = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor[] => {
    if (!composed) return batchNormTraining(xx, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
    const { mean, variance } = tf.moments(xx, axes);
    return [tf.batchNorm(xx, mean, variance, b, g, 1e-5), mean, variance];
  };
  const loss = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const [y, m, v] = forward(xx, g, b);
    return tf.addN([tf.sum(tf.mul(y, w)), tf.sum(tf.mul(m, wm)), tf.sum(tf.mul(v, wv))]);
  };
  return [...forward(x, gamma, beta), ...tf.grads(loss)([x, gamma, beta])];
}

const SHAPES: number[][] = [
  [64, 8, 8, 16], // SIMD, a batch of 64
  [64, 16, 16, 16], // 16384 rows: 512 chunks of the SIMD sums
  [1, 5, 5, 4], // batch 1
  [3, 7, 5, 12], // odd sizes
  [2, 9, 6], // rank 3, 6 channels: the JavaScript path
  [5, 3], // rank 2, 3 channels
];

describe('batchNormTraining on wasm (fused) equals the composition on cpu', () => {
  for (const simd of [true, false]) {
    for (const shape of SHAPES) {
      it(`${simd ? 'SIMD' : 'JavaScript'}: [${shape.join(', ')}]`, async () => {
        const cpu = await runOn('cpu', () => bnAndGrads(shape, 7, true));
        simdKernelsSwitch.enabled = simd;
        try {
          await tf.setBackend('wasm');
          expect(hasFusedBatchNormTraining()).toBe(true);
          const wasm = await runOn('wasm', () => bnAndGrads(shape, 7, false));
          // y, mean, variance, dx, dgamma, dbeta
          wasm.forEach((v, i) => expectClose(v, cpu[i], 1e-4));
        } finally {
          simdKernelsSwitch.enabled = true;
        }
      });
    }
  }

  it('the gradient formula as ops equals autodiff of the composition (cpu)', async () => {
    const shape = [4, 3, 3, 8];
    const cpu = await runOn('cpu', () => bnAndGrads(shape, 11, true));
    const ops = await runOn('cpu', () => {
      const c = shape[3];
      const size = tf.util.sizeFromShape(shape);
      const x = tf.add(tf.mul(tf.tensor(randomArray(size, 11), shape), 3), 1.5);
      const gamma = tf.tensor1d(randomArray(c, 12)).add(1.2);
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return batchNormTrainingGradOps(
        tf.tensor(randomArray(size, 14), shape),
        x,
        gamma,
        mean,
        variance,
        tf.tensor1d(randomArray(c, 15)),
        tf.tensor1d(randomArray(c, 16)),
        1e-5,
      );
    });
    ops.forEach((v, i) => expectClose(v, cpu[3 + i], 1e-4));
  });

  it('is composed where the backend has no fused kernel (cpu, stock wasm)', async () => {
    await tf.setBackend('cpu');
    expect(hasFusedBatchNormTraining()).toBe(false);
    restoreStockWasmKernels();
    try {
      await tf.setBackend('wasm');
      expect(hasFusedBatchNormTraining()).toBe(false);
      expect(tf.getKernel(BATCH_NORM_TRAINING, 'wasm')).toBeUndefined();
      const [y] = batchNormTraining(tf.ones([2, 4]), tf.ones([4]), tf.zeros([4]), 1e-3);
      expect(Array.from(y.dataSync())).toEqual(new Array(8).fill(0));
    } finally {
      replaceSlowWasmKernels();
    }
    expect(hasFusedBatchNormTraining()).toBe(true);
  });

  it('refuses gamma or beta of the wrong size', () => {
    expect(() => batchNormTraining(tf.ones([2, 4]), tf.ones([3]), tf.zeros([4]), 1e-3)).toThrow(
      /gamma and beta of 4 values/,
    );
  });

  it('leaks no tensor and no heap buffer over repeated steps', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    tf.dispose(tf.tidy(() => bnAndGrads([8, 4, 4, 16], 3, false))); // warm up
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    for (let i = 0; i < 5; i++) tf.dispose(tf.tidy(() => bnAndGrads([8, 4, 4, 16], 3, false)));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
  });
});

/** conv + BN + ReLU + dense: loss, gradients, moving stats after one step on `backend`. */
async function bnModelStep(backend: 'cpu' | 'wasm', stock: boolean) {
  await tf.setBackend(backend);
  const input = tf.input({ shape: [6, 6, 3] });
  const conv = tf.layers.conv2d({
    filters: 8,
    kernelSize: 3,
    padding: 'same',
    useBias: false,
    kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
  });
  const args = { momentum: 0.9, epsilon: 1e-5 };
  const bn = stock ? tf.layers.batchNormalization(args) : batchNormalization(args);
  let h = bn.apply(conv.apply(input)) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const x = tf
    .tensor(randomArray(4 * 6 * 6 * 3, 5), [4, 6, 6, 3])
    .mul(2)
    .add(0.5);
  const { value, grads } = tf.variableGrads(
    () => tf.mean(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
    model.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  const result = {
    loss: (await value.data())[0],
    grads: await Promise.all(
      Object.values(grads).map(async (g) => Float32Array.from(await g.data())),
    ),
    moving: await Promise.all(
      bn
        .getWeights()
        .slice(2)
        .map(async (w) => Float32Array.from(await w.data())),
    ),
    inference: Float32Array.from(await (model.predict(x) as tf.Tensor).data()),
    model,
  };
  tf.dispose([x, value, ...Object.values(grads)]);
  return result;
}

describe('TrainingBatchNormalization', () => {
  it('trains on wasm (fused) like the stock layer on cpu: loss, gradients, moving stats', async () => {
    const cpu = await bnModelStep('cpu', true);
    const wasm = await bnModelStep('wasm', false);
    expectClose([wasm.loss], [cpu.loss], 1e-5);
    expect(wasm.grads.length).toBe(cpu.grads.length);
    wasm.grads.forEach((g, i) => expectClose(g, cpu.grads[i], 1e-4));
    expect(wasm.moving.length).toBe(2);
    wasm.moving.forEach((m, i) => expectClose(m, cpu.moving[i], 1e-5));
    expectClose(wasm.inference, cpu.inference, 1e-5);
    cpu.model.dispose();
    wasm.model.dispose();
  });

  it('goes through the fused kernel only in training, and the stock path elsewhere', async () => {
    await tf.setBackend('wasm');
    const layer = batchNormalization({});
    const x = tf.tensor(randomArray(2 * 3 * 4, 9), [2, 3, 4]);
    layer.apply(x); // builds
    const calls: string[] = [];
    const kernel = tf.getKernel(BATCH_NORM_TRAINING, 'wasm')!;
    tf.unregisterKernel(BATCH_NORM_TRAINING, 'wasm');
    tf.registerKernel({
      ...kernel,
      kernelFunc: (a) => {
        calls.push('fused');
        return kernel.kernelFunc(a);
      },
    });
    try {
      tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
      expect(calls).toEqual(['fused']);
      tf.dispose(layer.apply(x, { training: false }) as tf.Tensor);
      tf.dispose(layer.apply(x) as tf.Tensor);
      expect(calls).toEqual(['fused']);
    } finally {
      tf.unregisterKernel(BATCH_NORM_TRAINING, 'wasm');
      tf.registerKernel(kernel);
    }
    layer.dispose();
    x.dispose();
  });

  it('saves as a plain BatchNormalization and loads as itself', async () => {
    await tf.setBackend('cpu');
    const model = tf.sequential({
      layers: [batchNormalization({ inputShape: [4], momentum: 0.8, epsilon: 1e-4 })],
    });
    const json = model.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers.map((l) => l.class_name)).toContain('BatchNormalization');
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    expect(loaded.layers[0]).toBeInstanceOf(TrainingBatchNormalization);
    expect(loaded.layers[0].getConfig()).toEqual(model.layers[0].getConfig());
    model.dispose();
    loaded.dispose();
  });
});

describe('Identity and Cast on wasm (replaced: a shared buffer)', () => {
  it('clones and same-dtype casts share the buffer, which outlives the original', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const dataIds = backend.numDataIds();
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(backend.numDataIds()).toBe(dataIds + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3, 4]);
    z.dispose();
    expect(backend.numDataIds()).toBe(dataIds);
  });

  it('casts to another dtype: int32 truncates, bool is x != 0 (the stock kernel wraps -2.2 to 254)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1.7, -2.2, 0]);
    const i = tf.cast(x, 'int32');
    const b = tf.cast(x, 'bool');
    const f = tf.cast(b, 'float32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 0]);
    expect(Array.from(f.dataSync())).toEqual([1, 1, 0]);
    tf.dispose([x, i, b, f]);
  });
});
