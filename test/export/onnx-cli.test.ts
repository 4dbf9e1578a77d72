/// <reference types="node" />
/**
 * The real path end to end: `parq train` (the CLI binary) writes a checkpoint, `parq export
 * --format onnx` turns it into a file, and onnxruntime-node runs it with the checkpoint's
 * predictions: a 2-bit uniform MLP on MNIST's test split, and a 4-bit ResNet-20 (two steps on
 * a 64-image CIFAR-10-format set: its convolutions through gather, its logits MatMulNBits).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, toTensors } from '../../src/data/index.js';
import { loadCheckpointModel } from '../../src/train/checkpoint-files.js';
import { ensureBuilt, parq } from '../cli/helpers.js';
import { writeCifarSet } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null = null;
try {
  ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
} catch (e) {
  console.warn(`onnx CLI tests skipped: onnxruntime-node cannot load (${(e as Error).message})`);
}

let dir = '';
beforeAll(async () => {
  ensureBuilt();
  await useBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'parq-onnx-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Trains with `flags`, exports to ONNX; returns the export's stdout and the two predictions. */
async function trainExportRun(
  name: string,
  flags: string[],
  x: tf.Tensor,
): Promise<{ stdout: string; got: Float32Array; want: Float32Array }> {
  const run = join(dir, name);
  const t = parq(['train', '-q', ...flags, '--out', run], 300_000);
  expect(t.code, t.stderr).toBe(0);
  const file = join(dir, `${name}.onnx`);
  const e = parq(['export', run, '--format', 'onnx', '--out', file]);
  expect(e.code, e.stderr).toBe(0);
  const model = await loadCheckpointModel(join(run, 'checkpoint'));
  const want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  model.dispose();
  const session = await ort!.InferenceSession.create(new Uint8Array(readFileSync(file)));
  const res = await session.run({
    input: new ort!.Tensor('float32', x.dataSync() as Float32Array, x.shape),
  });
  await session.release();
  return { stdout: e.stdout, got: res.output.data as Float32Array, want };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe.skipIf(!ort)('parq train, then parq export --format onnx, run in onnxruntime', () => {
  it('a 2-bit uniform MLP: MatMulNBits 2 bits, equal predictions on the MNIST test split', async () => {
    const data = loadDataset('mnist');
    const { x, y } = toTensors(data.test, data.inputShape);
    const r = await trainExportRun(
      'mlp',
      [
        ...['--quantizer', 'unif', '--bits', '2', '--method', 'ste', '--hidden', '64,32'],
        ...['--epochs', '1', '--limit-train', '512', '--limit-test', '64'],
      ],
      x,
    );
    for (const k of ['fc1', 'fc2', 'logits'])
      expect(r.stdout).toContain(`${k}/kernel: MatMulNBits 2 bits`);
    expect(maxAbsDiff(r.got, r.want)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, y]);
  }, 300_000);

  it('a 4-bit ResNet-20 (two steps): convolutions gathered, logits MatMulNBits, equal predictions', async () => {
    const cifar = join(dir, 'cifar');
    writeCifarSet(cifar, 13, 16);
    const x = tf.randomNormal([16, 32, 32, 3], 0.5, 0.3, 'float32', 11);
    const r = await trainExportRun(
      'resnet',
      [
        ...['--model', 'resnet20', '--data', `cifar10:${cifar}`, '--limit-train', '64'],
        ...['--batch-size', '32', '--epochs', '1', '--method', 'ste'],
        ...['--quantizer', 'unif', '--bits', '4', '--per-channel'],
      ],
      x,
    );
    expect(r.stdout).toContain('stem_conv/kernel: gather, 4 bits');
    expect(r.stdout).toContain('logits/kernel: MatMulNBits 4 bits');
    expect(maxAbsDiff(r.got, r.want)).toBeLessThanOrEqual(1e-4);
    x.dispose();
  }, 300_000);
});
