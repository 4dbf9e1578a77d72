/// <reference types="node" />
import { resolve } from 'node:path';
import { loadCifar10 } from './cifar10.js';
import { loadCsv, type CsvOptions } from './csv.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadIdx } from './idx.js';
import { loadMnist } from './mnist.js';
import { DataError, type Dataset } from './types.js';

/** The built-in dataset, used when none is named. */
export const DEFAULT_DATASET = 'mnist';

/** Options of `loadDataset`; only the csv source reads them. */
export type LoadDatasetOptions = CsvOptions;

/** The dataset specs `loadDataset` understands. */
export const DATASET_SPECS = [
  'mnist',
  'fashion-mnist[:DIR]',
  'idx:DIR',
  'cifar10:DIR',
  'csv:FILE',
] as const;

/**
 * `spec` with its path made absolute (against `cwd`), so that a run records, and a resume
 * from another folder reads, the same files: `csv:t.csv` -> `csv:/home/u/t.csv`.
 */
export function absoluteDatasetSpec(spec: string, cwd = process.cwd()): string {
  const colon = spec.indexOf(':');
  if (colon < 0) return spec;
  const kind = spec.slice(0, colon);
  const arg = spec.slice(colon + 1);
  if (arg === '' || !['idx', 'cifar10', 'csv'].includes(kind)) return spec;
  return `${kind}:${resolve(cwd, arg)}`;
}

/**
 * Loads a dataset from a spec: `mnist` (built in, protocol mlp-mnist10k split),
 * `fashion-mnist` (the Debian package's files, `$PARQ_FASHION_MNIST`, or `fashion-mnist:DIR`),
 * `idx:DIR` (MNIST / Fashion-MNIST IDX files), `cifar10:DIR` (CIFAR-10 binary batches) or
 * `csv:FILE` (see `loadCsv` for `opts`). Throws DataError on a bad spec or bad files.
 */
export function loadDataset(spec: string, opts: LoadDatasetOptions = {}): Dataset {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  const needArg = (what: string): string => {
    if (arg === '') throw new DataError(`dataset '${spec}': expected ${kind}:${what}`);
    return arg;
  };
  switch (kind) {
    case 'mnist':
      if (arg !== '') throw new DataError(`dataset '${spec}': mnist takes no argument`);
      return loadMnist();
    case 'fashion-mnist':
      return loadFashionMnist(arg === '' ? undefined : arg);
    case 'idx':
      return loadIdx(needArg('DIR'));
    case 'cifar10':
      return loadCifar10(needArg('DIR'));
    case 'csv':
      return loadCsv(needArg('FILE'), opts);
    default:
      throw new DataError(
        `unknown dataset '${spec}' (expected one of ${DATASET_SPECS.join(', ')})`,
      );
  }
}
