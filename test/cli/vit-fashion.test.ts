/// <reference types="node" />
// `parq train --data fashion-mnist --model vit-tiny --bits 2` through the real binary, then
// `parq export`: the packed file loads and predicts exactly as the trained checkpoint.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FASHION_MNIST_DEBIAN_DIR } from '../../src/data/index.js';
import { loadQuantized } from '../../src/export/index.js';
import { loadModelFromFile } from '../../src/models/index.js';
import { ensureBuilt, parq } from './helpers.js';

const installed = existsSync(join(FASHION_MNIST_DEBIAN_DIR, 'train-images-idx3-ubyte.gz'));
let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'parq-cli-vit-'));
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it.skipIf(!installed)(
  'trains vit-tiny at 2 bits on a Fashion-MNIST subset; the exported packed file predicts identically',
  async () => {
    const run = join(dir, 'run');
    const train = parq(
      [
        'train',
        '--data',
        'fashion-mnist',
        '--model',
        'vit-tiny',
        '--bits',
        '2',
        '--epochs',
        '2',
        '--limit-train',
        '512',
        '--limit-test',
        '200',
        '--batch-size',
        '64',
        '--optimizer',
        'adam',
        '--lr',
        '0.002',
        '--quiet',
        '--out',
        run,
      ],
      300_000,
    );
    expect(train.code, train.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
    expect(metrics.dataset).toMatchObject({ name: 'fashion-mnist', trainSamples: 512 });
    expect(metrics.quantized).toHaveLength(26);
    for (const q of metrics.quantized) expect(q.maxDistinctPerGroup, q.name).toBeLessThanOrEqual(4);
    expect(metrics.final.testAccuracy).toBeGreaterThan(0.3);

    const packed = join(dir, 'vit.parq');
    const exp = parq(['export', run, '--out', packed]);
    expect(exp.code, exp.stderr).toBe(0);
    const loaded = await loadQuantized(packed);
    const trained = await loadModelFromFile(join(run, 'checkpoint'));
    const x = tf.randomUniform([6, 28, 28, 1], 0, 1, 'float32', 4);
    const a = loaded.predict(x) as tf.Tensor;
    const b = trained.predict(x) as tf.Tensor;
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    tf.dispose([a, b, x]);
    loaded.dispose();
    trained.dispose();
  },
  400_000,
);
