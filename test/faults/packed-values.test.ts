/// <reference types="node" />
// Packed files that pass every checksum but hold what no writer writes: a deflate bomb in the
// header, NaN or infinite levels and float weights, levels out of order. Each is refused on
// load with a PackedFormatError naming the problem (the checksums are recomputed here, so only
// the new value checks stand between such a file and a model).
import { deflateSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  crc32,
  exportQuantized,
  loadQuantized,
  PackedFormatError,
  parsePacked,
} from '../../src/export/index.js';
import { maxHeaderBytes } from '../../src/export/reader.js';
import { QuantOptimizer } from '../../src/optim/index.js';

let good: Uint8Array;
beforeAll(async () => {
  await tf.setBackend('cpu');
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ name: 'd1', units: 4, inputShape: [3] }),
      tf.layers.dense({ name: 'd2', units: 2 }),
    ],
  });
  const optimizer = new QuantOptimizer({ base: tf.train.sgd(0.1), bits: 2 });
  const x = tf.randomNormal([8, 3], 0, 1, 'float32', 1);
  optimizer.minimize(() => tf.mean(tf.square(model.apply(x) as tf.Tensor)));
  good = await exportQuantized(model, optimizer);
  x.dispose();
});

/** The file with its sections replaced (HEAD as given, deflated when `deflated`), CRCs fixed. */
async function craft(
  edit: (sections: Map<string, Uint8Array>, header: any) => void,
  deflated = false,
): Promise<Uint8Array> {
  const file = await parsePacked(good);
  const sections = new Map(
    file.sections.map((s) => [s.tag, good.slice(s.offset, s.offset + s.length)]),
  );
  const header = structuredClone(file.header);
  sections.set('HEAD', new TextEncoder().encode(JSON.stringify(header)));
  edit(sections, header);
  const list = [...sections.entries()];
  const pre = 16 + 12 * list.length + 4;
  const out = new Uint8Array(pre + list.reduce((a, [, b]) => a + b.length, 0));
  const view = new DataView(out.buffer);
  out.set(good.subarray(0, 16));
  view.setUint16(12, deflated ? 1 : 0, true);
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

async function refused(bytes: Uint8Array): Promise<string> {
  const err = await loadQuantized(bytes).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PackedFormatError);
  return (err as Error).message;
}

const setFloat = (b: Uint8Array, i: number, v: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).setFloat32(4 * i, v, true);

describe('packed files with impossible values', () => {
  it('the crafted copy of a good file loads (the helper itself is sound)', async () => {
    const m = await loadQuantized(await craft(() => undefined));
    m.dispose();
    const d = await loadQuantized(
      await craft((s) => s.set('HEAD', deflateSync(s.get('HEAD') as Uint8Array)), true),
    );
    d.dispose();
  });

  it('a header that inflates beyond 1 MiB + 64x its size is refused while inflating', async () => {
    // 64 MiB of spaces deflates to about 64 KB: the cap is ~5 MiB, far below.
    const bombHead = deflateSync(Buffer.alloc(64 * 2 ** 20, 0x20));
    expect(maxHeaderBytes(bombHead.length)).toBeLessThan(8 * 2 ** 20);
    const bytes = await craft((s) => s.set('HEAD', bombHead), true);
    expect(await refused(bytes)).toMatch(/compressed header inflates to more than \d+ bytes/);
  });

  it.each([NaN, Infinity, -Infinity])('a level of %s is refused', async (v) => {
    const bytes = await craft((s) => {
      const lv = s.get('LVLS') as Uint8Array;
      setFloat(lv, 1, v);
    });
    expect(await refused(bytes)).toMatch(/tensor '.*kernel': level 1 is (NaN|-?Infinity)/);
  });

  it('levels out of ascending order are refused', async () => {
    const bytes = await craft((s) => {
      const lv = s.get('LVLS') as Uint8Array;
      const view = new DataView(lv.buffer, lv.byteOffset, lv.byteLength);
      const [a, b] = [view.getFloat32(0, true), view.getFloat32(4, true)];
      view.setFloat32(0, b, true);
      view.setFloat32(4, a - 1, true);
    });
    expect(await refused(bytes)).toMatch(/levels of group 0 are not ascending/);
  });

  it('a NaN float weight (a bias) is refused', async () => {
    const bytes = await craft((s) => setFloat(s.get('FLTS') as Uint8Array, 0, NaN));
    expect(await refused(bytes)).toMatch(/tensor '.*': weight 0 is NaN/);
  });
});
