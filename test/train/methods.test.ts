import { describe, expect, it } from 'vitest';
import { ProxPARQ } from '../../src/prox/parq.js';
import {
  DEFAULT_TRAIN_CONFIG,
  METHOD_NAMES,
  METHODS,
  methodsReading,
  proxForConfig,
  resolveTrainConfig,
  TRAIN_FIELD_KEYS,
  trainField,
  type TrainConfig,
} from '../../src/train/index.js';

describe('the method table', () => {
  it('names each method once, in the order of --help', () => {
    expect(METHOD_NAMES).toEqual(['fp', 'ste', 'parq', 'binaryrelax', 'softquant', 'admmq']);
    expect(new Set(METHODS.map((m) => m.label)).size).toBe(METHODS.length);
  });

  it('reads only config fields, and fp reads none of the QAT ones', () => {
    for (const m of METHODS) {
      for (const key of m.reads) expect(TRAIN_FIELD_KEYS).toContain(key);
      expect(m.qat).toBe(m.reads.length > 0);
    }
  });

  it('says which methods a field applies to', () => {
    expect(methodsReading('steepness')).toEqual(['parq']);
    expect(methodsReading('annealStart')).toEqual(['parq', 'binaryrelax', 'softquant']);
    expect(methodsReading('rho')).toEqual(['admmq']);
    expect(methodsReading('bits')).toEqual(['ste', 'parq', 'binaryrelax', 'softquant', 'admmq']);
    expect(methodsReading('quantPeriod')).toEqual(['ste', 'parq', 'binaryrelax', 'softquant']);
    expect(methodsReading('epochs')).toBeNull();
  });

  it.each([
    ['ste', 'ProxHardQuant'],
    ['parq', 'ProxPARQ'],
    ['binaryrelax', 'ProxBinaryRelax'],
    ['softquant', 'ProxSoftQuant'],
  ])('%s builds its prox map %s', (method, className) => {
    const c = resolveTrainConfig({ method: method as TrainConfig['method'] });
    expect(proxForConfig(c, 100).className).toBe(className);
  });

  it('fp and admmq have no prox map', () => {
    for (const method of ['fp', 'admmq'] as const) {
      expect(() => proxForConfig(resolveTrainConfig({ method }), 100)).toThrow(/has no prox map/);
    }
  });
});

describe('the config schema', () => {
  it('declares each field once, with a default that passes its own check', () => {
    const view = DEFAULT_TRAIN_CONFIG as unknown as Record<string, unknown>;
    expect(Object.keys(DEFAULT_TRAIN_CONFIG)).toEqual(TRAIN_FIELD_KEYS);
    for (const key of TRAIN_FIELD_KEYS) {
      const f = trainField(key);
      expect(f.help.length, key).toBeGreaterThan(0);
      expect(f.check(view[key], key, view), key).toBeNull();
    }
  });

  it('parses flag text to the value the check accepts, and refuses what it refuses', () => {
    expect(trainField('bits').parse?.('ternary')).toBe(0);
    expect(trainField('hidden').parse?.('64,32')).toEqual([64, 32]);
    expect(trainField('annealEnd').parse?.('0.75')).toBe(0.75);
    expect(() => trainField('annealEnd').parse?.('1.5')).toThrow(/a fraction in \[0, 1\]/);
    expect(() => trainField('epochs').parse?.('2.5')).toThrow(/an integer >= 1/);
    expect(() => trainField('method').parse?.('magic')).toThrow(/unknown value 'magic'/);
  });

  it('keeps one default per knob: ProxPARQ without options and the config agree', () => {
    const prox = new ProxPARQ({ annealStart: 0, annealEnd: 100 });
    expect(prox.steepness).toBe(DEFAULT_TRAIN_CONFIG.steepness);
    expect(prox.annealCenter).toBe(DEFAULT_TRAIN_CONFIG.annealCenter);
  });
});
