/// <reference types="node" />
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A fresh temporary directory; remove it with `removeDir`. */
export function tempDir(prefix = 'parq-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** IDX3 unsigned-byte images: header (magic, n, rows, cols) then pixels. */
export function idxImages(pixels: Uint8Array, n: number, rows: number, cols: number): Uint8Array {
  return withHeader([0x00000803, n, rows, cols], pixels);
}

/** IDX1 unsigned-byte labels: header (magic, n) then labels. */
export function idxLabels(labels: number[]): Uint8Array {
  return withHeader([0x00000801, labels.length], Uint8Array.from(labels));
}

function withHeader(words: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(words.length * 4 + body.length);
  const view = new DataView(out.buffer);
  words.forEach((w, k) => view.setUint32(4 * k, w));
  out.set(body, words.length * 4);
  return out;
}

/** Pixel value of image i at (r, c): distinct and predictable. */
export function pixelAt(i: number, r: number, c: number): number {
  return (i * 31 + r * 7 + c * 3) % 256;
}

/** A consistent 4-file IDX set: `nTrain` / `nTest` images of rows x cols, labels i % 10. */
export function writeIdxSet(
  dir: string,
  opts: { nTrain?: number; nTest?: number; rows?: number; cols?: number; gzip?: boolean } = {},
): void {
  const { nTrain = 12, nTest = 5, rows = 4, cols = 3, gzip = false } = opts;
  mkdirSync(dir, { recursive: true });
  const write = (name: string, bytes: Uint8Array) =>
    writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  const images = (n: number) => {
    const px = new Uint8Array(n * rows * cols);
    for (let i = 0; i < n; i++)
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) px[(i * rows + r) * cols + c] = pixelAt(i, r, c);
    return idxImages(px, n, rows, cols);
  };
  const labels = (n: number) => idxLabels(Array.from({ length: n }, (_, i) => i % 10));
  write('train-images-idx3-ubyte', images(nTrain));
  write('train-labels-idx1-ubyte', labels(nTrain));
  write('t10k-images-idx3-ubyte', images(nTest));
  write('t10k-labels-idx1-ubyte', labels(nTest));
}

/**
 * A CIFAR-10 binary batch of `n` records: label i % 10; channel c at (h, w) holds
 * (i + 3 h + 5 w + 100 c) % 256.
 */
export function cifarBatch(n: number, firstIndex = 0): Uint8Array {
  const out = new Uint8Array(n * 3073);
  for (let k = 0; k < n; k++) {
    const i = firstIndex + k;
    const rec = k * 3073;
    out[rec] = i % 10;
    for (let c = 0; c < 3; c++)
      for (let h = 0; h < 32; h++)
        for (let w = 0; w < 32; w++) out[rec + 1 + c * 1024 + h * 32 + w] = cifarValue(i, h, w, c);
  }
  return out;
}

export function cifarValue(i: number, h: number, w: number, c: number): number {
  return (i + 3 * h + 5 * w + 100 * c) % 256;
}

/** data_batch_1..5.bin with `perBatch` records each and test_batch.bin with `nTest`. */
export function writeCifarSet(dir: string, perBatch = 2, nTest = 3): void {
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) {
    writeFileSync(join(dir, `data_batch_${b}.bin`), cifarBatch(perBatch, (b - 1) * perBatch));
  }
  writeFileSync(join(dir, 'test_batch.bin'), cifarBatch(nTest));
}
