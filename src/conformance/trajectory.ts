/**
 * Replays a parq-trajectory/1 case through the public API and compares it with the reference:
 * the MLP built with the file's hidden sizes and its weights set from `init`, a QuantOptimizer
 * over momentum SGD with a cosine learning rate, batches of the built-in MNIST train split by
 * index. The step keeps each loss on the device; they are read once, after the last step.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherBatch } from '../data/batches.js';
import type { Dataset } from '../data/types.js';
import { logitsModel } from '../models/index.js';
import { mlp } from '../models/mlp.js';
import { QuantOptimizer } from '../optim/quant-optimizer.js';
import { ProxBinaryRelax } from '../prox/binary-relax.js';
import { ProxPARQ } from '../prox/parq.js';
import { ProxHardQuant, type ProxMap } from '../prox/proxmap.js';
import { ProxSoftQuant } from '../prox/soft-quant.js';
import type { Granularity } from '../quant/grouping.js';
import { quantizerFromConfig } from '../quant/registry.js';
import { layerNames, type TrajectoryCase, type TrajectoryFile } from './trajectory-file.js';

/** FORMAT.md: per-step loss tolerance, and the relative tolerance of the final kernel sums. */
export const LOSS_TOLERANCE = 1e-4;
export const FINAL_TOLERANCE = 1e-3;

/** What the file's optimizer section fixes for every case. */
const LR = 0.05;
const MOMENTUM = 0.9;

export interface KernelSummary {
  distinct: number;
  sum: number;
  sumSq: number;
}

export interface TrajectoryResult {
  name: string;
  passed: boolean;
  /** Steps compared: all when the horizon is the whole run, else floor(0.8 * horizon). */
  compared: number;
  /** max |loss - reference| over the compared steps. */
  maxLossDiff: number;
  /** The first compared step whose loss differs by more than the tolerance, or null. */
  firstFailingStep: number | null;
  /** Final-weight checks that failed (only when the whole run is compared). */
  finalFailures: string[];
  /** This run's losses, every step. */
  losses: number[];
  final: Record<string, KernelSummary>;
}

/** Steps a case is held to: all of them when its horizon is the whole run. */
export function comparedSteps(c: Pick<TrajectoryCase, 'horizon' | 'steps'>): number {
  return c.horizon === c.steps ? c.steps : Math.floor(0.8 * c.horizon);
}

function granularity(g: string): Granularity {
  if (g === 'tensor') return { kind: 'tensor' };
  if (g === 'channel') return { kind: 'channel' };
  return { kind: 'block', blockSize: Number(g.slice('block'.length)) };
}

function proxMap(c: TrajectoryCase): ProxMap {
  const window = { annealStart: 0, annealEnd: c.annealEnd };
  switch (c.method) {
    case 'ste':
      return new ProxHardQuant();
    case 'parq':
      return new ProxPARQ({ ...window, steepness: 10, annealCenter: 0.5 });
    case 'binaryrelax':
      return new ProxBinaryRelax(window);
    case 'softquant':
      return new ProxSoftQuant({ ...window, tStart: 1, tEnd: 1000 });
  }
}

function setInitialWeights(model: tf.LayersModel, file: TrajectoryFile): void {
  for (const layer of layerNames(file.model.hidden)) {
    const k = file.init[`${layer}/kernel`];
    const b = file.init[`${layer}/bias`];
    const tensors = [tf.tensor(k.data, k.shape, 'float32'), tf.tensor(b.data, b.shape, 'float32')];
    model.getLayer(layer).setWeights(tensors);
    tf.dispose(tensors);
  }
}

/** Checks the final kernels against the case's `final` (sums 1e-3 relative, distinct per tensor). */
function finalFailures(c: TrajectoryCase, got: Record<string, KernelSummary>): string[] {
  if (!c.final) return [];
  const out: string[] = [];
  const close = (a: number, e: number) =>
    Math.abs(a - e) <= FINAL_TOLERANCE * Math.max(1, Math.abs(e));
  for (const [name, e] of Object.entries(c.final)) {
    const a = got[name];
    if (!close(a.sum, e.sum)) out.push(`${name} sum ${a.sum} vs ${e.sum}`);
    if (!close(a.sumSq, e.sumSq)) out.push(`${name} sumSq ${a.sumSq} vs ${e.sumSq}`);
    if (c.granularity === 'tensor' && a.distinct !== e.distinct)
      out.push(`${name} distinct ${a.distinct} vs ${e.distinct}`);
  }
  return out;
}

async function kernelSummary(t: tf.Tensor): Promise<KernelSummary> {
  const data = await t.data();
  let sum = 0;
  let sumSq = 0;
  for (const v of data) {
    sum += v;
    sumSq += v * v;
  }
  return { distinct: new Set(data).size, sum, sumSq };
}

/**
 * Runs one case (the file must have passed `checkTrajectoryFile`). `referenceCompat` builds the
 * quantizers the way the reference computes them (as for conformance vectors).
 */
export async function runTrajectoryCase(
  file: TrajectoryFile,
  c: TrajectoryCase,
  data: Dataset,
  referenceCompat = true,
): Promise<TrajectoryResult> {
  const model = mlp({ inputShape: [784], numClasses: 10, hidden: file.model.hidden });
  const net = logitsModel(model);
  const optimizer = new QuantOptimizer({
    base: tf.train.momentum(LR, MOMENTUM),
    quantizer: quantizerFromConfig({
      className: c.quantizer,
      config: referenceCompat ? { referenceCompat: true } : {},
    }),
    prox: proxMap(c),
    groups: [
      {
        match: layerNames(file.model.hidden).map((l) => `${l}/kernel`),
        bits: c.bits,
        granularity: granularity(c.granularity),
      },
    ],
    warmupSteps: c.warmupSteps ?? 0,
    quantPeriod: c.quantPeriod ?? 10,
    quantShrink: c.quantShrink ?? false,
    lrSchedule: { kind: 'cosine', lr: LR, totalSteps: c.totalSteps },
  });
  const losses: tf.Scalar[] = [];
  try {
    setInitialWeights(model, file);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let s = 0; s < c.steps; s++) {
      const { x, y } = gatherBatch(data.train, Int32Array.from(file.batches[s]), [784]);
      const labels = tf.cast(y, 'int32');
      const loss = optimizer.minimize(
        () => {
          const logits = net.apply(x, { training: true }) as tf.Tensor;
          return tf.losses.softmaxCrossEntropy(
            tf.oneHot(labels as tf.Tensor1D, 10),
            logits,
          ) as tf.Scalar;
        },
        true,
        variables,
      ) as tf.Scalar;
      losses.push(loss);
      tf.dispose([x, y, labels]);
    }
    const stacked = tf.stack(losses);
    const got = Array.from(await stacked.data());
    stacked.dispose();
    const final: Record<string, KernelSummary> = {};
    for (const layer of layerNames(file.model.hidden))
      final[`${layer}/kernel`] = await kernelSummary(model.getLayer(layer).getWeights()[0]);
    const n = comparedSteps(c);
    let maxLossDiff = 0;
    let firstFailingStep: number | null = null;
    for (let s = 0; s < n; s++) {
      const d = Math.abs(got[s] - c.losses[s]);
      if (!(d <= maxLossDiff)) maxLossDiff = Number.isNaN(d) ? Infinity : Math.max(maxLossDiff, d);
      if (!(d <= LOSS_TOLERANCE) && firstFailingStep === null) firstFailingStep = s;
    }
    const fails = c.horizon === c.steps ? finalFailures(c, final) : [];
    return {
      name: c.name,
      passed: firstFailingStep === null && fails.length === 0,
      compared: n,
      maxLossDiff,
      firstFailingStep,
      finalFailures: fails,
      losses: got,
      final,
    };
  } finally {
    tf.dispose(losses);
    optimizer.dispose();
    model.dispose();
  }
}
