/**
 * What a run records: plain JSON (metrics.json, checkpoints, the report's only input).
 * Everything outside `timing` is a pure function of (config, data, backend, and on wasm the
 * SIMD build `simd`): two runs with the same seed on the same backend give identical records.
 */
import type { TrainConfig } from './config.js';

export const METRICS_FORMAT = 'parq-metrics/1';

/** One epoch's results. Accuracies are fractions in [0, 1]. */
export interface EpochRecord {
  /** 1-based: epoch 1 is the first epoch trained. */
  epoch: number;
  /** Optimizer steps done at the end of the epoch. */
  step: number;
  /** Mean training loss over the epoch's samples (weights as they were at each step). */
  loss: number;
  accuracy: number;
  /** Test split, when evaluated this epoch. */
  testLoss?: number;
  testAccuracy?: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** The prox map's inverse slope after the epoch (1 = identity, 0 = hard), when it has one. */
  inverseSlope?: number;
  /** ADMM-Q: the penalty rho at the epoch's last step. */
  rho?: number;
}

/** A histogram of one tensor's values. */
export interface Histogram {
  lo: number;
  hi: number;
  counts: number[];
}

/** One quantized tensor at one snapshot. */
export interface TensorSnapshot {
  name: string;
  /** The weights the model computes with (after the prox map). */
  weights: Histogram;
  /**
   * The optimizer's other copy, on the same bins: the latent full-precision weights
   * (QuantOptimizer), or z, the copy that follows the levels (ADMM-Q).
   */
  latent?: Histogram;
  /** The levels Q of each group (absent for fp, or when the tensor has too many groups). */
  levels?: number[][];
  /** Distinct values among `weights`. */
  distinct: number;
}

/** Histograms of every quantized tensor after `epoch` epochs (0 = at initialization). */
export interface HistogramSnapshot {
  epoch: number;
  step: number;
  tensors: TensorSnapshot[];
}

/** A quantized tensor of the final model. */
export interface QuantizedTensorInfo {
  name: string;
  shape: number[];
  bits: number;
  /** Level sets (groups) and the most levels each may hold. */
  groups: number;
  maxLevels: number;
  /** Distinct values in the whole tensor, and the most in any one group. */
  distinct: number;
  maxDistinctPerGroup: number;
  /** Levels of each group, ascending (omitted beyond 16 groups). */
  levels?: number[][];
}

/** A schedule sampled over the run's steps, for the report. */
export interface ScheduleCurve {
  /** e.g. `inverse slope` (PARQ, BinaryRelax), `rho` (ADMM-Q). */
  name: string;
  steps: number[];
  values: number[];
}

/** Facts about the data a run trained on. */
export interface DatasetInfo {
  name: string;
  trainSamples: number;
  testSamples: number;
  inputShape: number[];
  numClasses: number;
  /** Sizes and CRC-32 of the samples trained and tested on (`datasetFingerprint`): a resume refuses other data. */
  fingerprint?: string;
}

/** Wall-clock facts (the only part of the metrics that differs between identical runs). */
export interface RunTiming {
  /** Seconds of each epoch (training + its evaluation). */
  epochSeconds: number[];
  /** Sum of `epochSeconds` plus the final evaluation, over all resumed segments. */
  wallSeconds: number;
  /** Training steps per second, over all epochs. */
  stepsPerSecond: number;
  /** When each segment (first run, each resume) started, ISO 8601. */
  segments: string[];
}

/** A run stopped because its loss or weights stopped being finite numbers. */
export interface Divergence {
  /** 1-based epoch and step (counted over the run) at which it was detected. */
  epoch: number;
  step: number;
  /** `loss` (the training loss, first non-finite at `step`) or `weights` (after `step`). */
  cause: 'loss' | 'weights';
}

const SIMD_LABEL = { relaxed: 'relaxed SIMD', simd128: 'SIMD128' } as const;

/** The backend of a run as people read it: `wasm (relaxed SIMD)`, `webgpu`. */
export function describeBackend(m: Pick<RunMetrics, 'backend' | 'simd'>): string {
  return m.simd ? `${m.backend} (${SIMD_LABEL[m.simd]})` : m.backend;
}

/** One line for a diverged run: where, and what was non-finite. */
export function describeDivergence(d: Divergence): string {
  return d.cause === 'loss'
    ? `the training loss is not finite at epoch ${d.epoch}, step ${d.step}`
    : `the weights are not finite after epoch ${d.epoch}, step ${d.step}`;
}

export interface RunMetrics {
  format: typeof METRICS_FORMAT;
  config: TrainConfig;
  dataset: DatasetInfo;
  backend: string;
  /**
   * wasm: the build of parq-ts's SIMD kernels the run (its latest segment) took, `relaxed`
   * (fused multiply-adds) or `simd128`; they round convolutions differently, so a CNN run is a
   * pure function of (config, data, backend, simd). Absent elsewhere (and in older files).
   */
  simd?: 'relaxed' | 'simd128';
  /**
   * `complete` when all epochs ran; `stopped` (stop-after), `interrupted`, `diverged` (a
   * non-finite loss or weight: see `diverged`), or `running`.
   */
  status: 'running' | 'complete' | 'stopped' | 'interrupted' | 'diverged';
  /** Where a diverged run was stopped: its epoch and step (1-based) and what was non-finite. */
  diverged?: Divergence;
  stepsPerEpoch: number;
  totalSteps: number;
  epochsDone: number;
  epochs: EpochRecord[];
  /** Final test metrics (after the last epoch). */
  final?: { testLoss: number; testAccuracy: number };
  quantized: QuantizedTensorInfo[];
  histograms: HistogramSnapshot[];
  schedule?: ScheduleCurve;
  /** Loss head used: `logits` (softmax cross-entropy on logits) or `probabilities`. */
  lossOn: 'logits' | 'probabilities';
  timing: RunTiming;
}

/** The epochs at which histograms are taken: 0 (initialization) and about 5 more. */
export function snapshotEpochs(epochs: number, count = 5): number[] {
  const out = new Set<number>([0]);
  for (let i = 1; i <= count; i++) out.add(Math.round((epochs * i) / count));
  out.add(epochs);
  return [...out].filter((e) => e >= 0 && e <= epochs).sort((a, b) => a - b);
}

/** `metrics` without its timing (what must match between two identical runs). */
export function withoutTiming(m: RunMetrics): Omit<RunMetrics, 'timing'> {
  const { timing: _timing, ...rest } = m;
  return rest;
}
