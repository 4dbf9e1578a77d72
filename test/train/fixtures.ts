/** Small in-memory datasets for trainRun tests. */
import type { Dataset, Split } from '../../src/data/types.js';
import { mulberry32 } from '../../src/util/random.js';

/**
 * `classes` Gaussian-ish clusters in `features` dimensions (feature j leans toward class
 * j % classes), `nTrain` / `nTest` samples, deterministic.
 */
export function blobs(nTrain = 192, nTest = 64, features = 8, classes = 3, noise = 1.2): Dataset {
  const rand = mulberry32(12345);
  const split = (n: number): Split => {
    const x = new Float32Array(n * features);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % classes;
      y[i] = c;
      for (let j = 0; j < features; j++)
        x[i * features + j] = (j % classes === c ? 1 : 0) + noise * (rand() - 0.5);
    }
    return { x, y, n };
  };
  return {
    name: 'blobs',
    train: split(nTrain),
    test: split(nTest),
    inputShape: [features],
    numClasses: classes,
  };
}
