/**
 * What the histogram and prox-map views of a panel show, as plain arrays: the shown kernel's
 * weights, the optimizer's shadow (latent) weights, the levels, and the prox map on a grid.
 * Computed where the model lives (the training worker for a run, the page for a loaded model)
 * and posted as is; `drawWeightView` in the panel only draws it. Reads synchronously
 * (`dataSync`): in the worker nothing waits for it, and the values of one view come from
 * between the same two steps.
 */
import * as tf from '@tensorflow/tfjs';
import type { QatInspection } from '../../src/optim/inspection.js';
import { proxTensor } from '../../src/prox/functional.js';
import { ProxHardQuant } from '../../src/prox/proxmap.js';
import { quantizeTensor } from '../../src/quant/functional.js';
import type { TrainConfig } from '../../src/train/config.js';
import { fmt, histogramBins, type HistogramBins } from './charts.js';

export interface WeightView {
  layer: string;
  /** Set when the view cannot be drawn (no such layer): the one line to show instead. */
  problem?: string;
  /** Output channel shown, -1 for the whole tensor. */
  channel: number;
  /** How many weights the view shows. */
  count: number;
  /**
   * The histogram, binned where the weights are: the weights the model holds (what inference
   * uses), the optimizer's shadow weights (PARQ's latent, ADMM-Q's z) when it keeps them, and
   * the levels to mark (one row per group).
   */
  hist: HistogramBins;
  /** Whether a QAT optimizer stands behind the weights (else: fp training or a loaded model). */
  qat: boolean;
  /** Distinct weight values, counted up to 257. */
  distinct: number;
  /** Fraction of the weights on one of the levels (QAT runs only). */
  onLevels: number | null;
  /** The prox map y = prox(x) on the grid `xs` (null: nothing to draw), and its description. */
  xs: Float32Array;
  ys: Float32Array | null;
  proxText: string;
  /** Levels of the group the prox map is drawn for. */
  proxLevels: number[];
}

/** The view of `layer`'s kernel (`channel` -1: whole tensor) of a model and its optimizer. */
export function weightView(
  model: tf.LayersModel,
  qat: QatInspection | null,
  config: TrainConfig | null,
  layer: string,
  requestedChannel: number,
  source: 'run' | 'loaded',
): WeightView {
  const kernel = model.layers
    .find((l) => l.name === layer)
    ?.trainableWeights.find((w) => w.originalName.endsWith('/kernel'))
    ?.read() as tf.Variable | undefined;
  const empty = new Float32Array();
  if (!kernel) {
    return {
      layer,
      problem: `the model has no layer ${layer} with a kernel`,
      channel: -1,
      count: 0,
      hist: histogramBins({ weights: empty, levels: [] }),
      qat: false,
      distinct: 0,
      onLevels: null,
      xs: Float32Array.of(-1, 1),
      ys: null,
      proxText: 'prox map',
      proxLevels: [],
    };
  }
  const channels = kernel.shape[kernel.rank - 1];
  let channel = Math.floor(requestedChannel);
  if (config?.granularity.kind !== 'channel' || !(channel >= 0)) channel = -1;
  channel = Math.min(channel, channels - 1);
  const column = (t: tf.Tensor) => (channel < 0 ? t.clone() : tf.slice(t, [0, channel], [-1, 1]));

  const wT = column(kernel);
  // the line: PARQ & co keep latent weights; ADMM-Q keeps z, the quantized copy
  const latentVar = qat?.getShadow(kernel) ?? null;
  const lT = latentVar ? column(latentVar) : null;
  let levelsT: tf.Tensor2D | null = qat?.getLevels(kernel) ?? null;
  if (!levelsT && qat && config) {
    // before the first step: the levels the quantizer would pick now
    const { q, levels } = quantizeTensor(qat.quantizer, kernel, config.bits, config.granularity);
    q.dispose();
    levelsT = levels;
  }
  const weights = wT.dataSync() as Float32Array;
  const latent = lT ? (lT.dataSync() as Float32Array) : null;
  const levelRows = levelsT ? (levelsT.arraySync() as number[][]) : null;
  wT.dispose();
  lT?.dispose();
  levelsT?.dispose();

  const distinct = countDistinct(weights, 257);
  let levels = levelRows ?? [];
  if (channel >= 0 && levels.length > 1) levels = [levels[channel]];
  if (!qat && distinct <= 256) levels = [[...new Set(weights)].sort((a, b) => a - b)];
  if (!qat && distinct > 16) levels = [];

  // the prox map, on a grid around the levels of the shown group (or of group 0)
  const row = levels[0] ?? [];
  const lo = Math.min(...(row.length ? row : [-0.1]));
  const hi = Math.max(...(row.length ? row : [0.1]));
  const span = Math.max(hi - lo, 1e-3);
  const xs = new Float32Array(241);
  for (let i = 0; i < xs.length; i++) xs[i] = lo - 0.25 * span + (1.5 * span * i) / (xs.length - 1);
  let proxText: string;
  let ys: Float32Array | null = null;
  if (qat && row.length > 0) {
    // ADMM-Q has no prox map: its z-update projects x + lambda/rho onto the nearest level
    const prox = qat.prox ?? new ProxHardQuant();
    const step = Math.max(0, qat.step - 1);
    const out = tf.tidy(() => proxTensor(prox, tf.tensor1d(xs), tf.tensor1d(row), step));
    ys = out.dataSync() as Float32Array;
    out.dispose();
    const schedule = qat.schedule;
    proxText = qat.prox
      ? `${prox.className} at step ${step}: ${prox.describe(step)}`
      : `projection (z-update) at step ${step}` +
        (schedule ? `: ${schedule.name} ${fmt(schedule.at(step) ?? NaN)}` : '');
  } else if (source === 'loaded') {
    proxText = 'prox map: none (loaded model, no optimizer)';
  } else if (qat) {
    proxText = 'prox map: levels not known yet';
  } else {
    proxText = 'prox map: none (fp training)';
    ys = xs;
  }
  return {
    layer,
    channel,
    count: weights.length,
    hist: histogramBins({ weights, latent, levels }),
    qat: qat !== null,
    distinct,
    onLevels: qat ? countOn(weights, levels) : null,
    xs,
    ys,
    proxText,
    proxLevels: row,
  };
}

/** The number of distinct values in `values`, counting no further than `cap`. */
export function countDistinct(values: Float32Array, cap: number): number {
  const seen = new Set<number>();
  for (const v of values) {
    seen.add(v);
    if (seen.size >= cap) break;
  }
  return seen.size;
}

/** Fraction of `weights` that equal one of the levels (of their group when one row per group). */
export function countOn(weights: Float32Array, levels: number[][]): number {
  const all = new Set(levels.flat().map(Math.fround));
  let on = 0;
  for (const w of weights) if (all.has(w)) on++;
  return on / Math.max(weights.length, 1);
}
