/// <reference types="node" />
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IDX_FILES, loadIdx } from './idx.js';
import { DataError, type Dataset } from './types.js';

/** Where Debian's `dataset-fashion-mnist` package puts the four gzipped IDX files. */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/** Environment variable naming a folder with the Fashion-MNIST IDX files. */
export const FASHION_MNIST_ENV = 'PARQ_FASHION_MNIST';

/** Class names of Fashion-MNIST labels 0..9 (Xiao, Rasul & Vollgraf 2017). */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

const SIDE = 28;

/** Does `dir` hold the four IDX files (plain or `.gz`)? */
function hasIdxFiles(dir: string): boolean {
  return Object.values(IDX_FILES).every(
    (f) => existsSync(join(dir, f)) || existsSync(join(dir, `${f}.gz`)),
  );
}

/**
 * The folder holding Fashion-MNIST: `dir` when given, else `$PARQ_FASHION_MNIST` when set, else
 * the Debian package's folder. Throws a one-line DataError naming the folder looked in and how
 * to get the files (`apt-get install dataset-fashion-mnist`).
 */
export function findFashionMnist(
  dir?: string,
  env: Record<string, string | undefined> = process.env,
): string {
  const fromEnv = env[FASHION_MNIST_ENV];
  const [where, how] =
    dir !== undefined && dir !== ''
      ? [dir, 'fashion-mnist:DIR']
      : fromEnv !== undefined && fromEnv !== ''
        ? [fromEnv, `$${FASHION_MNIST_ENV}`]
        : [FASHION_MNIST_DEBIAN_DIR, 'the default folder'];
  if (hasIdxFiles(where)) return where;
  const files = Object.values(IDX_FILES).join(', ');
  throw new DataError(
    `fashion-mnist: no IDX files (${files}, optionally .gz) in ${where} (${how}); ` +
      `install them with \`apt-get install dataset-fashion-mnist\`, or give ` +
      `fashion-mnist:DIR or ${FASHION_MNIST_ENV}=DIR`,
  );
}

/**
 * Fashion-MNIST from its IDX files (see `findFashionMnist` for where they are looked for):
 * the official split, 60,000 train and 10,000 test images of 28x28x1, pixels / 255, labels
 * 0..9 (`FASHION_MNIST_CLASSES`), in file order. A folder with fewer images (a test subset)
 * loads too; other image sizes or labels outside 0..9 are refused.
 */
export function loadFashionMnist(
  dir?: string,
  env: Record<string, string | undefined> = process.env,
): Dataset {
  const found = findFashionMnist(dir, env);
  const data = loadIdx(found);
  const [rows, cols] = data.inputShape;
  if (rows !== SIDE || cols !== SIDE) {
    throw new DataError(
      `fashion-mnist: ${found} holds ${rows}x${cols} images, Fashion-MNIST's are ${SIDE}x${SIDE}`,
    );
  }
  if (data.numClasses > FASHION_MNIST_CLASSES.length) {
    throw new DataError(
      `fashion-mnist: ${found} has label ${data.numClasses - 1}, Fashion-MNIST's are 0..9`,
    );
  }
  return { ...data, name: 'fashion-mnist', numClasses: FASHION_MNIST_CLASSES.length };
}
