/**
 * From a TrainConfig to the pieces of a run: the model (built-in names), the optimizer with
 * its learning-rate schedule and prox map, and the loss head. Browser-safe: no node imports.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/types.js';
import { lenet5 } from '../models/lenet5.js';
import { mlp } from '../models/mlp.js';
import { resnet20 } from '../models/resnet20.js';
import { vitTiny } from '../models/vit.js';
import { resolveGroups, type ParamGroup, type ResolvedEntry } from '../optim/param-groups.js';
import { DEFAULT_QUANT_PATTERNS, matchesPatterns } from '../quant/patterns.js';
import { GroupingError } from '../quant/grouping.js';
import type { Quantizer } from '../quant/quantizer.js';
import type { LrSchedule } from '../optim/learning-rate.js';
import type { QATOptimizer } from '../optim/qat-optimizer.js';
import type { ProxMap } from '../prox/proxmap.js';
import { quantizerByName } from '../quant/registry.js';
import { ConfigError, type TrainConfig } from './config.js';
import { resolveLayerBits } from './layer-bits.js';
import { methodSpec, rhoScheduleForConfig } from './methods.js';

/** Built-in model names `modelForConfig` builds. */
export const BUILTIN_MODELS = ['mlp', 'lenet5', 'resnet20', 'vit-tiny'] as const;

export function isBuiltinModel(name: string): boolean {
  return (BUILTIN_MODELS as readonly string[]).includes(name);
}

/** A fresh built-in model for the config's `model`, seeded by `seed`, sized for `dataset`. */
export function modelForConfig(c: TrainConfig, dataset: Dataset): tf.LayersModel {
  const opts = {
    inputShape: [...dataset.inputShape],
    numClasses: dataset.numClasses,
    seed: c.seed,
  };
  switch (c.model) {
    case 'mlp':
      return mlp({ ...opts, hidden: c.hidden });
    case 'lenet5':
      return lenet5(opts);
    case 'resnet20':
      return resnet20(opts);
    case 'vit-tiny':
      return vitTiny(opts);
    default:
      throw new ConfigError(
        `model '${c.model}' is not built in (${BUILTIN_MODELS.join(', ')}): load it and pass it`,
      );
  }
}

/** Throws naming the mismatch when `model` cannot train on `dataset`. */
export function checkModelFits(model: tf.LayersModel, dataset: Dataset): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new ConfigError(`model '${model.name}': needs exactly one input and one output`);
  }
  const inShape = model.inputs[0].shape.slice(1);
  const want = dataset.inputShape;
  const fits =
    inShape.length === want.length && inShape.every((d, i) => d === null || d === want[i]);
  if (!fits) {
    throw new ConfigError(
      `model '${model.name}' takes inputs of shape [${inShape.join(', ')}], ` +
        `dataset '${dataset.name}' has samples of shape [${want.join(', ')}]`,
    );
  }
  const out = model.outputs[0].shape;
  if (out.length !== 2 || out[1] !== dataset.numClasses) {
    throw new ConfigError(
      `model '${model.name}' outputs shape [${out.join(', ')}], ` +
        `dataset '${dataset.name}' has ${dataset.numClasses} classes`,
    );
  }
}

/** What the training step differentiates: logits (preferred) or probabilities. */
export interface LossHead {
  /** The model to call in the step (shares the weights of the full model). */
  net: tf.LayersModel;
  kind: 'logits' | 'probabilities';
  /** Mean cross-entropy of the batch, from int32 labels [b] and the net's output [b, classes]. */
  loss(labels: tf.Tensor, out: tf.Tensor): tf.Scalar;
}

/**
 * The loss head of a classifier. Built-in models end with a Dense `logits` layer and a
 * `softmax`: the step then uses the logits with a fused softmax cross-entropy (as PyTorch's
 * CrossEntropyLoss). Other models: a final softmax is read as probabilities (clipped log, as
 * Keras), anything else as logits.
 */
export function lossHead(model: tf.LayersModel): LossHead {
  const logitsLayer = model.layers.find((l) => l.name === 'logits');
  const last = model.layers[model.layers.length - 1];
  if (logitsLayer !== undefined && logitsLayer !== last) {
    const net = tf.model({
      inputs: model.inputs,
      outputs: logitsLayer.output as tf.SymbolicTensor,
    });
    return { net, kind: 'logits', loss: logitsLoss };
  }
  const activation = (last.getConfig() as { activation?: unknown }).activation;
  if (activation === 'softmax') return { net: model, kind: 'probabilities', loss: probabilityLoss };
  return { net: model, kind: 'logits', loss: logitsLoss };
}

function logitsLoss(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  const oneHot = tf.oneHot(labels as tf.Tensor1D, logits.shape[logits.shape.length - 1] as number);
  return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
}

function probabilityLoss(labels: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  const oneHot = tf.oneHot(labels as tf.Tensor1D, probs.shape[probs.shape.length - 1] as number);
  const p = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(p)), -1))) as tf.Scalar;
}

/** The learning rate per step over a whole run. */
export function lrScheduleForConfig(c: TrainConfig, totalSteps: number, steps: number): LrSchedule {
  switch (c.lrSchedule) {
    case 'constant':
      return { kind: 'constant', lr: c.lr };
    case 'cosine':
      return { kind: 'cosine', lr: c.lr, totalSteps };
    case 'step': {
      const epochs = c.lrStepEpochs > 0 ? c.lrStepEpochs : Math.max(1, Math.round(c.epochs / 3));
      return { kind: 'step', lr: c.lr, stepSize: epochs * steps, gamma: 0.1 };
    }
  }
}

/** The base (latent-weight) optimizer. */
export function baseOptimizerForConfig(c: TrainConfig): tf.Optimizer {
  switch (c.optimizer) {
    case 'sgd':
      return tf.train.sgd(c.lr);
    case 'momentum':
      return tf.train.momentum(c.lr, c.momentum);
    case 'adam':
      return tf.train.adam(c.lr);
  }
}

/** The prox map of a prox method (the method table's), with its anneal window in steps. */
export function proxForConfig(c: TrainConfig, totalSteps: number): ProxMap {
  const prox = methodSpec(c.method).prox;
  if (!prox) throw new ConfigError(`${c.method}: has no prox map`);
  return prox(c, totalSteps);
}

/**
 * The parameter groups of a run: the kernels of Dense and Conv layers at `bits`, or with
 * `layerBits` one group per entry (first match wins), each taking only kernels and with the
 * config's quantizer at its own bits (`unif` at 0 is the ternary quantizer).
 */
export function quantGroupsForConfig(c: TrainConfig): ParamGroup[] {
  if (!c.layerBits?.length) return [{ match: DEFAULT_QUANT_PATTERNS, bits: c.bits }];
  return c.layerBits.map((e) => ({
    match: [e.pattern],
    among: [...DEFAULT_QUANT_PATTERNS],
    bits: e.bits,
    quantizer: quantizerByName(c.quantizer, e.bits),
  }));
}

/** A QAT optimizer: PARQ-style prox methods, or ADMM-Q (read it through `QatInspection`). */
export type QatOptimizer = QATOptimizer;

/** The optimizer of a run and what the loop needs to know about it. */
export interface RunOptimizer {
  /** What `minimize` is called on. */
  optimizer: tf.Optimizer;
  /** The QAT optimizer, or null for `fp`. */
  quant: QatOptimizer | null;
  /** The learning rate per step. A QuantOptimizer applies it itself; else the loop does. */
  schedule: LrSchedule;
}

export { rhoScheduleForConfig };

/**
 * Builds the run's optimizer: the method table's, on the config's base optimizer. `quantizer`
 * is the run's (built from the config when omitted).
 */
export function optimizerForConfig(
  c: TrainConfig,
  totalSteps: number,
  steps: number,
  quantizer: Quantizer = quantizerByName(c.quantizer, c.bits),
): RunOptimizer {
  const schedule = lrScheduleForConfig(c, totalSteps, steps);
  const base = baseOptimizerForConfig(c);
  const spec = methodSpec(c.method);
  const optimizer = spec.optimizer(c, {
    base,
    schedule,
    quantizer,
    groups: quantGroupsForConfig(c),
    totalSteps,
    stepsPerEpoch: steps,
  });
  return { optimizer, quant: spec.qat ? (optimizer as QATOptimizer) : null, schedule };
}

/** A quantized variable with its stable weight name (`fc1/kernel`, without tfjs's `_1`). */
export type QuantizedEntry = ResolvedEntry & { label: string };

/**
 * The model's variables a run quantizes, resolved before any step so that histograms can start
 * at epoch 0. Throws naming the problem (e.g. a granularity that does not divide a kernel)
 * before anything is trained. `quantizer` is the run's (built from the config when omitted).
 */
export function quantizedVariables(
  c: TrainConfig,
  model: tf.LayersModel,
  quantizer: Quantizer = quantizerByName(c.quantizer, c.bits),
): QuantizedEntry[] {
  const labels = new Map(
    model.weights.map((w) => [(w.read() as tf.Variable).name, w.originalName]),
  );
  if (c.layerBits?.length) {
    for (const g of quantGroupsForConfig(c)) g.quantizer?.checkBits(g.bits as number);
    // the stable names, so that a pattern's errors read as the user wrote it
    resolveLayerBits(
      c.layerBits,
      model.trainableWeights.map((w) => w.originalName),
    );
  } else quantizer.checkBits(c.bits);
  const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
  const { entries } = resolveGroups(names, quantGroupsForConfig(c), {
    quantizer,
    granularity: c.granularity,
  });
  return entries.map((e) => ({ ...e, label: labels.get(e.name) ?? e.name }));
}

/**
 * For fp: the tensors a QAT run at this config would quantize, so that its histograms compare
 * with a QAT run's; none when the model has no Dense/Conv kernels, or when the config's
 * granularity cannot split them (fp trains them whole: there is nothing to compare).
 */
export function wouldQuantizeVariables(
  c: TrainConfig,
  model: tf.LayersModel,
  quantizer: Quantizer,
): QuantizedEntry[] {
  const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
  if (!names.some((n) => matchesPatterns(n, DEFAULT_QUANT_PATTERNS))) return [];
  try {
    return quantizedVariables(c, model, quantizer);
  } catch (e) {
    if (e instanceof GroupingError) return [];
    throw e;
  }
}

/**
 * Disposes a run's optimizer, base optimizer included. Works around tfjs 4.22's
 * MomentumOptimizer.dispose, which forgets the learning-rate scalar its SGD parent keeps
 * (one tensor leaked per optimizer).
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  const base = (optimizer as unknown as { base?: tf.Optimizer }).base;
  const momentum = [optimizer, base].find((o) => o?.getClassName() === 'Momentum');
  const lr = (momentum as unknown as { c?: tf.Tensor } | undefined)?.c;
  optimizer.dispose();
  if (lr && !lr.isDisposed) lr.dispose();
}
