/**
 * Config (de)serialization shared by the QAT optimizers: the wrapped base
 * optimizer and the parameter groups, as plain JSON for tf.serialization
 * (model.save({includeOptimizer: true}) and tf.loadLayersModel).
 */
import * as tf from '@tensorflow/tfjs';
import { quantizerFromConfig, serializeQuantizer, SerializedQuantizer } from '../quant/registry.js';
import { proxMapFromConfig, serializeProxMap, SerializedProxMap } from '../prox/registry.js';
import { layerKernelNames, ParamGroup, refName } from './param-groups.js';

/** A named tensor, as tfjs optimizers' getWeights/setWeights use. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

type Dict = tf.serialization.ConfigDict;

/**
 * Doubles as int32 words (two each: their IEEE-754 bits), for optimizer state that a resumed
 * run needs bit for bit. tfjs weights are float32 at best: a float32 pair keeps 48 bits, and a
 * sum carried through a checkpoint (QuantOptimizer's cumulative lr) then drifts in its last
 * bits from the uninterrupted run's.
 */
export function float64Words(values: number[]): Int32Array {
  return new Int32Array(new Float64Array(values).buffer);
}

/** The doubles of `float64Words`. */
export function fromFloat64Words(words: ArrayLike<number>): number[] {
  return Array.from(new Float64Array(Int32Array.from(words).buffer));
}

export function serializeBaseOptimizer(base: tf.Optimizer): Dict {
  return { className: base.getClassName(), config: base.getConfig() };
}

/** The base optimizer from its config, through tfjs's registry of serializable classes. */
export function baseOptimizerFromConfig(config: any, owner: string): tf.Optimizer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[config?.className];
  if (!entry) throw new Error(`${owner}: unknown base optimizer '${config?.className}'`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config.config) as unknown as tf.Optimizer;
}

/** Groups as JSON: layers become the names of their kernels. */
export function serializeGroups(groups: ParamGroup[]): tf.serialization.ConfigDictArray {
  const out = groups.map((g) => ({
    match: g.match ?? null,
    ...(g.among ? { among: g.among } : {}),
    variables: g.variables ? g.variables.map(refName) : g.layers ? layerKernelNames(g) : null,
    bits: g.bits ?? null,
    granularity: (g.granularity as unknown as Dict) ?? null,
    quantizer: g.quantizer ? (serializeQuantizer(g.quantizer) as unknown as Dict) : null,
    prox: g.prox ? (serializeProxMap(g.prox) as unknown as Dict) : null,
    weightDecay: g.weightDecay ?? null,
  }));
  return out as unknown as tf.serialization.ConfigDictArray;
}

export function groupsFromConfig(configs: any[]): ParamGroup[] {
  const opt = (o: any) => (o === null || o === undefined ? undefined : o);
  return configs.map((g) => ({
    match: opt(g.match),
    among: opt(g.among),
    variables: opt(g.variables),
    bits: opt(g.bits),
    granularity: opt(g.granularity),
    quantizer: g.quantizer ? quantizerFromConfig(g.quantizer as SerializedQuantizer) : undefined,
    prox: g.prox ? proxMapFromConfig(g.prox as SerializedProxMap) : undefined,
    weightDecay: opt(g.weightDecay),
  }));
}
