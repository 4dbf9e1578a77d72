import { readDataFile, type DataFile } from './files.js';
import { countClasses, DataError, type Dataset, type Split } from './types.js';

/** IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), then the number of dims. */
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

/** The four files of MNIST / Fashion-MNIST, each optionally gzipped (`.gz`). */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Decoded IDX3 images: pixels /255, sample-major, shape [n, rows, cols]. */
export interface IdxImages {
  n: number;
  rows: number;
  cols: number;
  pixels: Float32Array;
}

/**
 * MNIST-format data from the IDX files in `dir` (MNIST, Fashion-MNIST, or anything with the
 * same four file names). Input shape [rows, cols, 1]; numClasses = largest label + 1.
 */
export function loadIdx(dir: string): Dataset {
  const trainImagesFile = readDataFile(dir, IDX_FILES.trainImages);
  const trainLabelsFile = readDataFile(dir, IDX_FILES.trainLabels);
  const testImagesFile = readDataFile(dir, IDX_FILES.testImages);
  const testLabelsFile = readDataFile(dir, IDX_FILES.testLabels);
  const trainImages = parseIdxImages(trainImagesFile);
  const testImages = parseIdxImages(testImagesFile);
  const train = pair(trainImages, parseIdxLabels(trainLabelsFile), trainLabelsFile.path);
  const test = pair(testImages, parseIdxLabels(testLabelsFile), testLabelsFile.path);
  if (testImages.rows !== trainImages.rows || testImages.cols !== trainImages.cols) {
    throw new DataError(
      `${testImagesFile.path}: images are ${testImages.rows}x${testImages.cols} but ` +
        `${trainImagesFile.path} has ${trainImages.rows}x${trainImages.cols}`,
    );
  }
  return {
    name: `idx:${dir}`,
    train,
    test,
    inputShape: [trainImages.rows, trainImages.cols, 1],
    numClasses: countClasses(train.y, test.y),
  };
}

/** Parses an IDX3 unsigned-byte image file (magic 0x00000803). */
export function parseIdxImages({ path, bytes }: DataFile): IdxImages {
  const header = readHeader(path, bytes, IMAGES_MAGIC, 4, 'images');
  const [n, rows, cols] = header;
  const size = rows * cols;
  checkLength(path, bytes, 16 + n * size, `${n} images of ${rows}x${cols}`);
  const pixels = new Float32Array(n * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = bytes[16 + i] / 255;
  return { n, rows, cols, pixels };
}

/** Parses an IDX1 unsigned-byte label file (magic 0x00000801). */
export function parseIdxLabels({ path, bytes }: DataFile): Int32Array {
  const [n] = readHeader(path, bytes, LABELS_MAGIC, 2, 'labels');
  checkLength(path, bytes, 8 + n, `${n} labels`);
  return Int32Array.from(bytes.subarray(8, 8 + n));
}

/** Checks the magic number and returns the dimension sizes that follow it. */
function readHeader(
  path: string,
  bytes: Uint8Array,
  magic: number,
  words: number,
  what: string,
): number[] {
  const truncated = () =>
    new DataError(
      `${path}: truncated header (${bytes.length} bytes, an IDX ${what} header has ${words * 4})`,
    );
  if (bytes.length < 4) throw truncated();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) {
    throw new DataError(
      `${path}: bad magic number ${hex(found)} (expected ${hex(magic)} for IDX ${what})`,
    );
  }
  if (bytes.length < words * 4) throw truncated();
  const dims: number[] = [];
  for (let k = 1; k < words; k++) dims.push(view.getUint32(4 * k));
  return dims;
}

function checkLength(path: string, bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length < expected) {
    throw new DataError(
      `${path}: truncated: header says ${what} (${expected} bytes) but the file has ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new DataError(
      `${path}: ${bytes.length - expected} unexpected bytes after ${what} (${expected} bytes)`,
    );
  }
}

function pair(images: IdxImages, labels: Int32Array, labelsPath: string): Split {
  if (labels.length !== images.n) {
    throw new DataError(
      `${labelsPath}: ${labels.length} labels but the matching images file has ${images.n} images`,
    );
  }
  return { x: images.pixels, y: labels, n: images.n };
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
