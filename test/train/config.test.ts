import { beforeAll, describe, expect, it } from 'vitest';
import { LSBQuantizer } from '../../src/quant/lsbq.js';
import { ProxPARQ } from '../../src/prox/parq.js';
import {
  annealSteps,
  ConfigError,
  DEFAULT_TRAIN_CONFIG,
  optimizerForConfig,
  resolveTrainConfig,
  stepsPerEpoch,
  type TrainConfig,
} from '../../src/train/index.js';
import { useBackend } from '../helpers.js';

beforeAll(() => useBackend('wasm'));

describe('TrainConfig', () => {
  it('defaults to protocol mlp-mnist10k', () => {
    const c = resolveTrainConfig();
    expect(c).toMatchObject({
      data: 'mnist',
      model: 'mlp',
      hidden: [256, 256],
      method: 'parq',
      quantizer: 'lsbq',
      bits: 2,
      granularity: { kind: 'tensor' },
      epochs: 20,
      batchSize: 64,
      optimizer: 'momentum',
      lr: 0.05,
      momentum: 0.9,
      lrSchedule: 'cosine',
      annealStart: 0,
      annealEnd: 0.9,
      steepness: 10,
      annealCenter: 0.5,
      warmupSteps: 0,
      quantPeriod: 10,
      quantShrink: false,
    });
    // 8,004 samples at batch 64: 126 steps an epoch, 2,520 in all; PARQ anneals over 2,268.
    const steps = stepsPerEpoch(8004, 64);
    expect(steps).toBe(126);
    expect(annealSteps(c, 20 * steps)).toEqual({ start: 0, end: 2268 });
    const { quant, schedule } = optimizerForConfig(c, 20 * steps, steps);
    expect(schedule).toEqual({ kind: 'cosine', lr: 0.05, totalSteps: 2520 });
    expect(quant?.getClassName()).toBe('QuantOptimizer');
    const q = quant as unknown as { prox: ProxPARQ; quantizer: LSBQuantizer; quantPeriod: number };
    expect(q.prox).toBeInstanceOf(ProxPARQ);
    expect(q.prox.getConfig()).toEqual({
      annealStart: 0,
      annealEnd: 2268,
      steepness: 10,
      annealCenter: 0.5,
    });
    expect(q.quantizer.className).toBe('LSBQuantizer');
    expect(q.quantPeriod).toBe(10);
    quant?.dispose();
  });

  it('does not share the defaults with the configs it returns', () => {
    const c = resolveTrainConfig();
    c.hidden.push(3);
    expect(DEFAULT_TRAIN_CONFIG.hidden).toEqual([256, 256]);
    expect(Object.isFrozen(DEFAULT_TRAIN_CONFIG)).toBe(true);
  });

  it.each([
    [{ method: 'magic' }, /method: unknown value 'magic'/],
    [{ bits: 9 }, /bits must be an integer in 0\.\.8/],
    [{ epochs: 1.5 }, /epochs must be an integer >= 1/],
    [{ lr: 0 }, /lr must be a positive number/],
    [{ annealStart: 0.5, annealEnd: 0.5 }, /anneal end \(0\.5\) must be greater than anneal start/],
    [{ granularity: { kind: 'block', blockSize: 0 } }, /block size must be a positive integer/],
    [{ hidden: [8, -1] }, /hidden sizes must be positive integers/],
    [{ seed: -1 }, /seed must be an integer in 0\.\.4294967295/],
    [{ rho: 1, rhoMax: 0.5 }, /rho max \(0\.5\) must be a number >= rho \(1\)/],
  ])('%j is refused with a ConfigError naming the field', (bad, message) => {
    expect(() => resolveTrainConfig(bad as Partial<TrainConfig>)).toThrow(ConfigError);
    expect(() => resolveTrainConfig(bad as Partial<TrainConfig>)).toThrow(message as RegExp);
  });
});
