import { beforeAll, describe, expect, it } from 'vitest';
import { mlp } from '../../src/models/mlp.js';
import { TernaryUnifQuantizer, UnifQuantizer } from '../../src/quant/index.js';
import {
  ConfigError,
  describeMethod,
  quantGroupsForConfig,
  quantizedVariables,
  resolveTrainConfig,
  TRAIN_FIELDS,
} from '../../src/train/index.js';
import { formatLayerBits, parseLayerBits, resolveLayerBits } from '../../src/train/index.js';
import { useBackend } from '../helpers.js';

beforeAll(() => useBackend('cpu'));

const MLP = ['fc1/kernel', 'fc1/bias', 'fc2/kernel', 'fc2/bias', 'logits/kernel', 'logits/bias'];

describe('--layer-bits: parsing', () => {
  it('reads pattern=bits entries in order, ternary as 0, spaces ignored', () => {
    expect(parseLayerBits('fc1/*=4, logits/*=8 ,*=ternary')).toEqual([
      { pattern: 'fc1/*', bits: 4 },
      { pattern: 'logits/*', bits: 8 },
      { pattern: '*', bits: 0 },
    ]);
    expect(formatLayerBits(parseLayerBits('fc1/*=4,*=2'))).toBe('fc1/*=4,*=2');
  });

  it.each([
    ['', /expected pattern=bits entries/],
    ['  ', /expected pattern=bits entries/],
    ['x', /'x': expected pattern=bits/],
    ['fc1/*=9', /'fc1\/\*=9': bits must be 1..8, or 0 \/ ternary, got '9'/],
    ['fc1/*=5x', /bits must be 1..8/],
    ['fc1/*=', /bits must be 1..8/],
    ['=4', /the pattern before '=' is empty/],
    ['fc1/*=4,', /empty entry/],
    ['fc1/*=4,fc1/*=2', /pattern 'fc1\/\*' is given twice/],
  ])('refuses %j with one line', (spec, re) => {
    expect(() => parseLayerBits(spec)).toThrow(re);
    try {
      parseLayerBits(spec);
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('is a field of the config schema: validated by resolveTrainConfig, off by default', () => {
    expect(TRAIN_FIELDS.layerBits.default).toBeUndefined();
    expect(resolveTrainConfig().layerBits).toBeUndefined();
    expect(JSON.stringify(resolveTrainConfig())).not.toContain('layerBits');
    const c = resolveTrainConfig({ layerBits: [{ pattern: 'fc1/*', bits: 4 }] });
    expect(c.layerBits).toEqual([{ pattern: 'fc1/*', bits: 4 }]);
    expect(describeMethod(c)).toBe('parq lsbq fc1/*=4');
    expect(() => resolveTrainConfig({ layerBits: [{ pattern: '*', bits: 9 }] })).toThrow(
      ConfigError,
    );
    expect(() =>
      resolveTrainConfig({
        layerBits: [
          { pattern: '*', bits: 2 },
          { pattern: '*', bits: 4 },
        ],
      }),
    ).toThrow(/layer bits: pattern '\*' is given twice/);
    expect(() => resolveTrainConfig({ layerBits: 'fc1/*=4' as never })).toThrow(
      /layer bits: expected a list/,
    );
  });
});

describe('--layer-bits: which kernel gets which bits', () => {
  it('first match wins; kernels only (never biases); unmatched kernels stay float', () => {
    const m = resolveLayerBits(parseLayerBits('fc1/*=4,logits/*=8'), MLP);
    expect([...m]).toEqual([
      ['fc1/kernel', 4],
      ['logits/kernel', 8],
    ]);
    const all = resolveLayerBits(parseLayerBits('fc1/*=4,*=2'), MLP);
    expect(Object.fromEntries(all)).toEqual({
      'fc1/kernel': 4,
      'fc2/kernel': 2,
      'logits/kernel': 2,
    });
  });

  it('refuses a pattern that matches no kernel, or only kernels an earlier one took', () => {
    expect(() => resolveLayerBits(parseLayerBits('conv*=2'), MLP)).toThrow(
      "--layer-bits: pattern 'conv*' matches no quantizable weight (Dense/Conv kernels: fc1/kernel, fc2/kernel, logits/kernel)",
    );
    expect(() => resolveLayerBits(parseLayerBits('*/bias=2'), MLP)).toThrow(
      /matches no quantizable weight/,
    );
    expect(() => resolveLayerBits(parseLayerBits('*=2,fc1/*=4'), MLP)).toThrow(
      "--layer-bits: pattern 'fc1/*' only matches weights an earlier pattern took (first match wins): fc1/kernel",
    );
  });

  it('becomes one parameter group per entry, each at its bits with its own quantizer', () => {
    const c = resolveTrainConfig({
      quantizer: 'unif',
      layerBits: parseLayerBits('fc1/*=4,logits/*=0'),
    });
    const groups = quantGroupsForConfig(c);
    expect(groups.map((g) => [g.match, g.bits])).toEqual([
      [['fc1/*'], 4],
      [['logits/*'], 0],
    ]);
    expect(groups[0].quantizer).toBeInstanceOf(UnifQuantizer);
    expect(groups[1].quantizer).toBeInstanceOf(TernaryUnifQuantizer);

    const model = mlp({ inputShape: [6], numClasses: 3, hidden: [8, 8], seed: 1 });
    const entries = quantizedVariables(c, model);
    expect(entries.map((e) => [e.label, e.bits, e.quantizer.className])).toEqual([
      ['fc1/kernel', 4, 'UnifQuantizer'],
      ['logits/kernel', 0, 'TernaryUnifQuantizer'],
    ]);
    // fc2 is matched by no pattern: trained in float
    expect(() =>
      quantizedVariables(resolveTrainConfig({ layerBits: parseLayerBits('fc9/*=2') }), model),
    ).toThrow(/pattern 'fc9\/\*' matches no quantizable weight/);
    model.dispose();
  });
});
