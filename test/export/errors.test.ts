/// <reference types="node" />
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  collectTensors,
  crc32,
  encodePacked,
  exportQuantized,
  loadQuantized,
  PackedFormatError,
  parsePacked,
} from '../../src/export/index.js';
import { isPackedFile, writeQuantizedFile } from '../../src/export/files.js';
import { QuantOptimizer } from '../../src/optim/index.js';
import { ProxPARQ } from '../../src/prox/index.js';

function dense(units: number[], name = 'm'): tf.Sequential {
  const layers: tf.layers.Layer[] = units.map((u, i) =>
    tf.layers.dense({
      name: `d${i + 1}`,
      units: u,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 11 + i }),
      ...(i === 0 ? { inputShape: [6] } : {}),
    }),
  );
  return tf.sequential({ name, layers });
}

/** A model trained to hard-quantized 2-bit weights, and its optimizer. */
function trained(steps = 4): { model: tf.Sequential; optimizer: QuantOptimizer } {
  const model = dense([8, 3]);
  const optimizer = new QuantOptimizer({ base: tf.train.sgd(0.1), bits: 2 });
  const x = tf.randomNormal([16, 6], 0, 1, 'float32', 1);
  const y = tf.randomNormal([16, 3], 0, 1, 'float32', 2);
  for (let s = 0; s < steps; s++) {
    optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor));
  }
  tf.dispose([x, y]);
  return { model, optimizer };
}

const weightsOf = (m: tf.LayersModel) => m.weights.map((w) => Array.from(w.read().dataSync()));

let good: Uint8Array;
beforeAll(async () => {
  await tf.setBackend('cpu');
  const { model, optimizer } = trained();
  good = await exportQuantized(model, optimizer);
});

/** Rewrites the file's sections (and fixes every checksum), to craft files that pass the CRCs. */
async function rewrite(
  bytes: Uint8Array,
  edit: (sections: Map<string, Uint8Array>) => void,
): Promise<Uint8Array> {
  const file = await parsePacked(bytes);
  const sections = new Map(
    file.sections.map((s) => [s.tag, bytes.slice(s.offset, s.offset + s.length)]),
  );
  edit(sections);
  const list = [...sections.entries()];
  const pre = 16 + 12 * list.length + 4;
  const out = new Uint8Array(pre + list.reduce((a, [, b]) => a + b.length, 0));
  const view = new DataView(out.buffer);
  out.set(bytes.subarray(0, 16));
  view.setUint16(12, 0, true); // plain JSON header
  view.setUint16(14, list.length, true);
  let at = pre;
  list.forEach(([tag, b], i) => {
    for (let c = 0; c < 4; c++) out[16 + 12 * i + c] = tag.charCodeAt(c);
    view.setUint32(16 + 12 * i + 4, b.length, true);
    view.setUint32(16 + 12 * i + 8, crc32(b), true);
    out.set(b, at);
    at += b.length;
  });
  view.setUint32(pre - 4, crc32(out.subarray(0, pre - 4)), true);
  return out;
}

async function plainHeader(bytes: Uint8Array): Promise<any> {
  return (await parsePacked(bytes)).header;
}
const jsonBytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

/** Loading must fail with `message` and build nothing (no tensor left behind). */
async function expectRefused(bytes: Uint8Array, message: string | RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  const err = await loadQuantized(bytes).then(
    () => null,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(PackedFormatError);
  expect(err!.message).toMatch(message);
  expect(err!.message).not.toContain('\n');
  expect(tf.memory().numTensors).toBe(before);
}

describe('loadQuantized refuses bad files before building a model', () => {
  it('loads the good file', async () => {
    const m = await loadQuantized(good);
    expect(m.weights.map((w) => w.originalName)).toEqual([
      'd1/kernel',
      'd1/bias',
      'd2/kernel',
      'd2/bias',
    ]);
    m.dispose();
  });

  it('a truncated file', async () => {
    await expectRefused(
      good.subarray(0, good.length - 1),
      /^truncated file: \d+ bytes, its sections need \d+$/,
    );
    await expectRefused(good.subarray(0, 40), /^truncated file: 40 bytes, its preamble needs 68$/);
    await expectRefused(good.subarray(0, 5), /^truncated file: 5 bytes/);
    await expectRefused(new Uint8Array(0), /^not a parq packed file \(the file is empty\)/);
  });

  it('a wrong magic', async () => {
    const bad = good.slice();
    bad[1] = 0x41;
    await expectRefused(bad, 'not a parq packed file (wrong magic bytes)');
    await expectRefused(jsonBytes({ modelTopology: {} }), 'not a parq packed file');
  });

  it('a newer major version (and accepts a newer minor)', async () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint16(8, 2, true);
    await expectRefused(
      bad,
      'file format version 2.0 is newer than this parq-ts reads (1.x): upgrade parq-ts',
    );
    const minor = good.slice();
    const view = new DataView(minor.buffer);
    view.setUint16(10, 7, true);
    view.setUint32(64, crc32(minor.subarray(0, 64)), true); // 4 sections: preamble CRC at 64
    const file = await parsePacked(minor);
    expect(file.version).toEqual({ major: 1, minor: 7 });
  });

  it('a checksum mismatch, in a section and in the preamble', async () => {
    const file = await parsePacked(good);
    const idxs = file.sections.find((s) => s.tag === 'IDXS')!;
    const bad = good.slice();
    bad[idxs.offset] ^= 1;
    await expectRefused(bad, 'checksum mismatch in section IDXS: the file is damaged');
    const pre = good.slice();
    pre[12] ^= 2; // flags
    await expectRefused(pre, 'preamble checksum mismatch: the file is damaged');
  });

  it('bytes after the last section', async () => {
    const longer = new Uint8Array(good.length + 3);
    longer.set(good);
    await expectRefused(longer, '3 unexpected bytes after the last section');
  });

  it('a topology that does not match the tensors (caught before building)', async () => {
    const { model, optimizer } = trained();
    const tensors = await collectTensors(model, optimizer);
    const narrower = dense([5, 3]);
    const bytes = await encodePacked(narrower.toJSON(null, false) as any, tensors);
    await expectRefused(
      bytes,
      "topology layer 'd1' (Dense, 5 outputs) does not match tensor 'd1/kernel' of shape [6,8]",
    );
    const deeper = dense([8, 3, 2]);
    await expectRefused(
      await encodePacked(deeper.toJSON(null, false) as any, tensors),
      "topology layer 'd3' (Dense) has no tensor 'd3/kernel' in the file",
    );
    const fewer = await encodePacked(dense([8]).toJSON(null, false) as any, tensors);
    await expectRefused(
      fewer,
      /topology layer 'd1' .*|the file has tensor 'd2\/kernel', which no layer of the topology holds/,
    );
  });

  it('a topology whose other layers need tensors the file lacks (model built, then disposed)', async () => {
    const { model, optimizer } = trained();
    const tensors = await collectTensors(model, optimizer);
    const withBn = tf.sequential({
      name: 'm',
      layers: [
        tf.layers.dense({ name: 'd1', units: 8, inputShape: [6] }),
        tf.layers.batchNormalization({ name: 'bn' }),
        tf.layers.dense({ name: 'd2', units: 3 }),
      ],
    });
    await expectRefused(
      await encodePacked(withBn.toJSON(null, false) as any, tensors),
      "the topology has weight 'bn/gamma', the file has no such tensor",
    );
  });

  it('a tensor table that does not fit the sections', async () => {
    const header = await plainHeader(good);
    header.tensors[0].shape = [6, 9];
    header.tensors[0].view = [1, 54, 1];
    const bad = await rewrite(good, (s) => s.set('HEAD', jsonBytes(header)));
    await expectRefused(bad, /^section IDXS holds \d+ bytes, the tensor table needs \d+$/);
  });

  it('a malformed header', async () => {
    await expectRefused(
      await rewrite(good, (s) =>
        s.set('HEAD', new TextEncoder().encode('{"format": "parq-packed", ')),
      ),
      /^header is not valid JSON/,
    );
    const header = await plainHeader(good);
    header.tensors[0].bits = 9;
    await expectRefused(
      await rewrite(good, (s) => s.set('HEAD', jsonBytes(header))),
      "tensor 'd1/kernel': bad bits 9",
    );
    const h2 = await plainHeader(good);
    h2.tensors[1].name = 'd1/kernel';
    await expectRefused(
      await rewrite(good, (s) => s.set('HEAD', jsonBytes(h2))),
      "tensor table names 'd1/kernel' twice",
    );
    await expectRefused(await rewrite(good, (s) => s.delete('FLTS')), 'missing section FLTS');
  });

  it("a level index beyond its tensor's levels", async () => {
    const { model, optimizer } = trained();
    const tensors = await collectTensors(model, optimizer);
    const q = tensors[0];
    if (q.kind !== 'quantized') throw new Error('expected a quantized tensor');
    q.k = 3;
    q.levels = q.levels.slice(0, 3);
    q.indices = q.indices.map(() => 3);
    await expectRefused(
      await encodePacked(model.toJSON(null, false) as any, tensors),
      "tensor 'd1/kernel': weight 0 has a level index beyond its 3 levels",
    );
    // per channel: 8 groups of 3 levels, weight 5 points past its group's levels
    const perChannel = await collectTensors(model, undefined, {
      bits: 2,
      granularity: { kind: 'channel' },
    });
    const p = perChannel[0];
    if (p.kind !== 'quantized') throw new Error('expected a quantized tensor');
    p.levels = Float32Array.from(
      { length: 8 * 3 },
      (_, j) => p.levels[Math.floor(j / 3) * p.k + (j % 3)],
    );
    p.k = 3;
    p.indices = p.indices.map((j, i) => (i === 5 ? 3 : Math.min(j, 2)));
    await expectRefused(
      await encodePacked(model.toJSON(null, false) as any, perChannel),
      "tensor 'd1/kernel': weight 5 has a level index beyond its 3 levels",
    );
  });
});

describe('exportQuantized refuses models it cannot pack, changing nothing', () => {
  it('a model mid-training (PARQ before annealEnd)', async () => {
    const model = dense([8, 3]);
    const optimizer = new QuantOptimizer({
      base: tf.train.sgd(0.1),
      bits: 2,
      prox: new ProxPARQ({ annealStart: 0, annealEnd: 100 }),
    });
    const x = tf.randomNormal([16, 6], 0, 1, 'float32', 1);
    optimizer.minimize(() => tf.mean(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar);
    const before = weightsOf(model);
    await expect(exportQuantized(model, optimizer)).rejects.toThrow(
      /^export: tensor 'd1\/kernel': \d+ of 48 weights are not on their group's levels \(weight \d+ = .*, nearest level .*\); a model mid-training is not exportable/,
    );
    expect(weightsOf(model)).toEqual(before);
    x.dispose();
  });

  it('without an optimizer: too many distinct values for the bits', async () => {
    const model = dense([8, 3]);
    await expect(exportQuantized(model, undefined, { bits: 1 })).rejects.toThrow(
      "export: tensor 'd1/kernel' has more than 2 distinct values, more than 1 bit allows: is it quantized (at 1 bit)?",
    );
    await expect(
      exportQuantized(model, undefined, { bits: 0, granularity: { kind: 'channel' } }),
    ).rejects.toThrow(
      "export: tensor 'd1/kernel' has more than 3 distinct values in group 0, more than ternary allows",
    );
  });

  it('options that name no weight, or contradict the optimizer', async () => {
    const { model, optimizer } = trained();
    await expect(
      exportQuantized(model, undefined, { bits: { 'conv*/kernel': 2 } }),
    ).rejects.toThrow(
      "export: bits 'conv*/kernel' matches no weight (weights: d1/kernel, d1/bias, d2/kernel, d2/bias)",
    );
    await expect(exportQuantized(model, optimizer, { bits: 2 })).rejects.toThrow(
      'bits and granularity come from the optimizer',
    );
    await expect(exportQuantized(model, undefined, { bits: 12 })).rejects.toThrow(
      "bits of 'd1/kernel' must be an integer in 0..8",
    );
    await expect(exportQuantized(model, optimizer, { floatDtype: 'int8' as any })).rejects.toThrow(
      "floatDtype must be 'float32' or 'float16'",
    );
  });

  it('an optimizer that has not stepped, or that trained another model', async () => {
    const model = dense([8, 3]);
    const fresh = new QuantOptimizer({ base: tf.train.sgd(0.1), bits: 2 });
    await expect(exportQuantized(model, fresh)).rejects.toThrow(
      'the optimizer has quantized nothing yet',
    );
    const other = trained();
    await expect(exportQuantized(model, other.optimizer)).rejects.toThrow(
      /the optimizer quantizes variable '.*', which is not a weight of model 'm'/,
    );
  });

  it('per-tensor bits by name: only the named tensors are packed', async () => {
    const { model } = trained();
    const bytes = await exportQuantized(model, undefined, { bits: { 'd2/kernel': 2 } });
    const file = await parsePacked(bytes);
    expect(file.header.tensors.map((t) => t.encoding)).toEqual([
      'float32',
      'float32',
      'levels',
      'float32',
    ]);
  });
});

describe('files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parq-export-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes atomically and loads from a path, a file:// URL, an ArrayBuffer and a subarray', async () => {
    const path = join(dir, 'm.parq');
    writeFileSync(path, 'old');
    await writeQuantizedFile(path, good);
    expect(readdirSync(dir)).toEqual(['m.parq']);
    expect(new Uint8Array(readFileSync(path))).toEqual(good);
    expect(await isPackedFile(path)).toBe(true);
    expect(await isPackedFile(join(dir, 'nope'))).toBe(false);
    for (const source of [path, `file://${path}`, good.slice().buffer]) {
      const m = await loadQuantized(source);
      expect(m.weights).toHaveLength(4);
      m.dispose();
    }
    const padded = new Uint8Array(good.length + 10);
    padded.set(good, 7);
    const m = await loadQuantized(padded.subarray(7, 7 + good.length));
    m.dispose();
  });

  it('a failed write leaves nothing behind and the old file intact', async () => {
    await expect(writeQuantizedFile(join(dir, 'no', 'such', 'm.parq'), good)).rejects.toThrow(
      /no such folder$/,
    );
    const target = join(dir, 'taken');
    mkdirSync(join(target, 'inside'), { recursive: true });
    await expect(writeQuantizedFile(target, good)).rejects.toThrow(/taken: /);
    expect(readdirSync(dir)).toEqual(['taken']);
    await expect(loadQuantized(join(dir, 'missing.parq'))).rejects.toThrow(
      /missing.parq: no such file$/,
    );
  });

  it('fetches a URL', async () => {
    const server: Server = createServer((req, res) => {
      if (req.url === '/m.parq') res.end(Buffer.from(good));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const m = await loadQuantized(`http://127.0.0.1:${port}/m.parq`);
      expect(m.weights).toHaveLength(4);
      m.dispose();
      await expect(loadQuantized(`http://127.0.0.1:${port}/gone.parq`)).rejects.toThrow(
        /HTTP 404 .* fetching http/,
      );
    } finally {
      server.close();
    }
  });
});

afterAll(() => undefined);
