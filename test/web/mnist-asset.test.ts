import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { encodeMnist, gzipMnist } from '../../web/mnist-asset.js';
import { decodeMnist, gunzipIfNeeded } from '../../web/src/mnist.js';

describe('playground MNIST asset', () => {
  const bytes = encodeMnist();
  const decoded = decodeMnist(bytes);

  it('decodes to exactly the dataset loadMnist gives in Node (protocol split, same pixels)', () => {
    const node = loadMnist();
    expect(bytes.length).toBe(4 + 40 + 1024 + 10_000 * 784);
    expect(decoded.train.n).toBe(8004);
    expect(decoded.test.n).toBe(1996);
    expect(decoded.inputShape).toEqual(node.inputShape);
    for (const split of ['train', 'test'] as const) {
      expect(decoded[split].y).toEqual(node[split].y);
      // bit-for-bit: compare the float32 bytes, not rounded values
      expect(Buffer.from(decoded[split].x.buffer).equals(Buffer.from(node[split].x.buffer))).toBe(
        true,
      );
    }
  });

  it('ships gzipped at about a fifth of the size, and gunzips (DecompressionStream) to the same bytes', async () => {
    const gz = gzipMnist(bytes);
    console.log(`mnist asset: ${bytes.length} bytes, gzipped ${gz.length}`);
    expect(gz.length).toBeLessThan(bytes.length / 4);
    const back = await gunzipIfNeeded(gz);
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
    // bytes a server already decoded (Content-Encoding: gzip) pass through unchanged
    expect(await gunzipIfNeeded(bytes)).toBe(bytes);
  });

  it('refuses bytes that are not the asset, or are truncated, naming the problem', () => {
    expect(() => decodeMnist(new Uint8Array(2000))).toThrow(/not an MNIST asset/);
    expect(() => decodeMnist(bytes.subarray(0, bytes.length - 1))).toThrow(
      /7841067 bytes, expected 7841068 for 10000 digits/,
    );
  });
});
