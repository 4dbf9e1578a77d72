/// <reference types="node" />
/**
 * `parq train --layer-bits`: a short run with three layers at three widths, its metrics.json,
 * its packed file (each tensor's bits and level count), and its ONNX file run by
 * onnxruntime-node with the checkpoint's predictions; bad specs refused before training.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePacked } from '../../src/export/index.js';
import { loadCheckpointModel } from '../../src/train/checkpoint-files.js';
import { useBackend } from '../helpers.js';
import { parq, readJson, tinyCsvFixture } from './helpers.js';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null = null;
try {
  ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
} catch (e) {
  console.warn(`onnx part skipped: onnxruntime-node cannot load (${(e as Error).message})`);
}

const fx = tinyCsvFixture('parq-layer-bits-');
let run = '';
beforeAll(async () => {
  fx.setup();
  await useBackend('cpu');
  run = join(fx.dir, 'run');
  const r = parq([
    'train',
    ...fx.tiny(),
    '--hidden',
    '16,16',
    '--quantizer',
    'unif',
    '--method',
    'ste',
    '--epochs',
    '2',
    '--layer-bits',
    'fc1/*=4,logits/*=8,*=3',
    '--out',
    run,
  ]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => fx.cleanup());

const WANT = { 'fc1/kernel': 4, 'fc2/kernel': 3, 'logits/kernel': 8 };

describe('parq train --layer-bits', () => {
  it('records the spec in metrics.json and each tensor at its own bits', () => {
    const m = readJson(join(run, 'metrics.json'));
    expect(m.config.layerBits).toEqual([
      { pattern: 'fc1/*', bits: 4 },
      { pattern: 'logits/*', bits: 8 },
      { pattern: '*', bits: 3 },
    ]);
    const q = m.quantized as {
      name: string;
      bits: number;
      maxLevels: number;
      maxDistinctPerGroup: number;
    }[];
    expect(Object.fromEntries(q.map((t) => [t.name, t.bits]))).toEqual(WANT);
    for (const t of q) {
      expect(t.maxLevels).toBe(2 ** t.bits);
      expect(t.maxDistinctPerGroup).toBeLessThanOrEqual(t.maxLevels);
    }
  });

  it('parq export packs each tensor at its bits, with at most 2^bits levels', async () => {
    const out = join(fx.dir, 'm.parq');
    const r = parq(['export', run, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const d = await describePacked(new Uint8Array(readFileSync(out)));
    const levels = d.tensors.filter((t) => t.encoding === 'levels');
    expect(Object.fromEntries(levels.map((t) => [t.name, t.bits]))).toEqual(WANT);
    for (const t of levels) {
      expect(t.levels).toBeGreaterThan(1);
      expect(t.levels).toBeLessThanOrEqual(2 ** (t.bits as number));
    }
    expect(r.stdout).toMatch(/fc2\/kernel \[16, 16\]: 3 bits/);
    expect((d.metadata?.config as { layerBits: unknown }).layerBits).toHaveLength(3);
    // --bits contradicts a --layer-bits run
    const bad = parq(['export', run, '--out', join(fx.dir, 'x.parq'), '--bits', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /trained with --layer-bits fc1\/\*=4,logits\/\*=8,\*=3; leave --bits out/,
    );
  });

  it.skipIf(!ort)(
    'parq export --format onnx: MatMulNBits at each layer width, equal predictions in onnxruntime',
    async () => {
      const out = join(fx.dir, 'm.onnx');
      const r = parq(['export', run, '--format', 'onnx', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('fc1/kernel: MatMulNBits 4 bits');
      expect(r.stdout).toContain('fc2/kernel: MatMulNBits 4 bits (3 bits levels)');
      expect(r.stdout).toContain('logits/kernel: MatMulNBits 8 bits');
      const session = await ort!.InferenceSession.create(new Uint8Array(readFileSync(out)));
      expect(JSON.parse(readMeta(out, 'bits'))).toEqual(WANT);
      const model = await loadCheckpointModel(join(run, 'checkpoint'));
      const x = tf.randomNormal([64, 6], 0, 1.5, 'float32', 7);
      const want = (model.predict(x) as tf.Tensor).dataSync();
      const res = await session.run({
        input: new ort!.Tensor('float32', x.dataSync() as Float32Array, x.shape),
      });
      const got = res.output.data as Float32Array;
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
      expect(diff).toBeLessThanOrEqual(1e-4);
      await session.release();
      tf.dispose(x);
      model.dispose();
    },
  );

  it.each([
    ['fc1/*=9', /--layer-bits.*'fc1\/\*=9': bits must be 1\.\.8/],
    ['x', /'x': expected pattern=bits/],
    ['', /expected pattern=bits entries/],
    ['fc1/*=4,fc1/*=2', /pattern 'fc1\/\*' is given twice/],
    ['conv*=2', /pattern 'conv\*' matches no quantizable weight/],
    ['*=2,fc1/*=4', /pattern 'fc1\/\*' only matches weights an earlier pattern took/],
  ])('refuses --layer-bits %j: one line, exit 2, nothing written', (spec, re) => {
    const out = join(fx.dir, 'bad');
    const r = parq(['train', ...fx.tiny(), '--epochs', '1', '--layer-bits', spec, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(re);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses --bits beside --layer-bits, --layer-bits for fp, and in parq compare', () => {
    const both = parq(['train', ...fx.tiny(), '--bits', '3', '--layer-bits', '*=2']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--bits and --layer-bits exclude each other/);
    const fp = parq(['train', ...fx.tiny(), '--method', 'fp', '--layer-bits', '*=2']);
    expect(fp.code).toBe(2);
    expect(fp.stderr).toMatch(/--layer-bits applies to --method ste, parq/);
    const cmp = parq(['compare', ...fx.tiny(), '--layer-bits', '*=2']);
    expect(cmp.code).toBe(2);
    expect(cmp.stderr).toMatch(/unknown option '--layer-bits'/);
  });
});

/** A metadata_props value of an ONNX file, read with a tiny protobuf walk. */
function readMeta(path: string, key: string): string {
  const b = new Uint8Array(readFileSync(path));
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let s = 0;
    for (;;) {
      const x = b[i++];
      v += (x & 0x7f) * 2 ** s;
      s += 7;
      if (x < 0x80) return v;
    }
  };
  const text = (u: Uint8Array) => new TextDecoder().decode(u);
  while (i < b.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) {
      varint();
      continue;
    }
    const len = varint();
    const body = b.subarray(i, i + len);
    i += len;
    if (tag >>> 3 !== 14) continue; // ModelProto.metadata_props
    let j = 0;
    const fields: string[] = [];
    while (j < body.length) {
      j++; // tag of key (1) or value (2), both length-delimited
      let n = 0;
      let s = 0;
      for (;;) {
        const x = body[j++];
        n += (x & 0x7f) * 2 ** s;
        s += 7;
        if (x < 0x80) break;
      }
      fields.push(text(body.subarray(j, j + n)));
      j += n;
    }
    if (fields[0] === key) return fields[1];
  }
  throw new Error(`no metadata '${key}'`);
}
