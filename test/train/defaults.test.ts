/**
 * Defaults in one place: an optimizer built without options agrees with the training config's
 * defaults, so that the library and `parq train` cannot drift apart again (rho was 1e-3 in
 * ADMMQOptimizer and 1e-4 in the config).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMMQOptimizer, DEFAULT_RHO } from '../../src/optim/admm/index.js';
import { QAT_DEFAULTS } from '../../src/optim/qat-optimizer.js';
import { QuantOptimizer, QUANT_OPTIMIZER_DEFAULTS } from '../../src/optim/quant-optimizer.js';
import { ProxPARQ } from '../../src/prox/parq.js';
import { quantizerByName, serializeQuantizer } from '../../src/quant/registry.js';
import { DEFAULT_TRAIN_CONFIG as D } from '../../src/train/config.js';
import { useBackend } from '../helpers.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('defaults shared by the optimizers and the config', () => {
  it('QuantOptimizer without options reads as the default config', () => {
    const opt = new QuantOptimizer({ base: tf.train.sgd(0.1) });
    expect(opt.quantPeriod).toBe(D.quantPeriod);
    expect(opt.quantShrink).toBe(D.quantShrink);
    expect(opt.warmupSteps).toBe(D.warmupSteps);
    expect(opt.groups[0].bits).toBe(D.bits);
    expect(opt.granularity).toEqual(D.granularity);
    expect(serializeQuantizer(opt.quantizer)).toEqual(
      serializeQuantizer(quantizerByName(D.quantizer, D.bits)),
    );
    expect(QUANT_OPTIMIZER_DEFAULTS.quantPeriod).toBe(D.quantPeriod);
    expect(QAT_DEFAULTS.bits).toBe(D.bits);
    opt.dispose();
  });

  it("ADMMQOptimizer's default rho is the config's first-epoch rho", () => {
    const opt = new ADMMQOptimizer({ base: tf.train.sgd(0.1) });
    expect(opt.rho).toBe(D.rho);
    expect(opt.rhoAt(1000)).toBe(DEFAULT_RHO);
    expect(opt.warmupSteps).toBe(D.warmupSteps);
    expect(opt.groups[0].bits).toBe(D.bits);
    opt.dispose();
  });

  it("ProxPARQ's sigmoid defaults are the config's", () => {
    const prox = new ProxPARQ({ annealStart: 0, annealEnd: 10 });
    expect(prox.steepness).toBe(D.steepness);
    expect(prox.annealCenter).toBe(D.annealCenter);
  });
});
