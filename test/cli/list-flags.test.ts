// List-valued flags keep order and repeats; set-valued ones drop repeats (and say so in --help).
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addTrainOptions, intArg, listArg, parseBits, setArg } from '../../src/cli/options.js';

describe('list and set flags', () => {
  it('listArg keeps order and repeats; setArg keeps first occurrences in order', () => {
    expect(listArg(intArg(1), 'sizes')('64, 64,32')).toEqual([64, 64, 32]);
    expect(setArg(parseBits, 'bits')('2,1,ternary,2,0')).toEqual([2, 1, 0]);
    expect(() => listArg(intArg(1), 'sizes')('64,,64')).toThrow(/comma-separated list of sizes/);
  });

  it('train --hidden 64,64 is two layers; compare drops repeated methods, quantizers and bits', () => {
    const train = addTrainOptions(new Command('train').exitOverride(), 'train');
    train.parse(['--hidden', '64,64'], { from: 'user' });
    expect(train.opts().hidden).toEqual([64, 64]);
    const compare = addTrainOptions(new Command('compare').exitOverride(), 'compare');
    compare.parse(
      [
        '--hidden',
        '8,8,8',
        '--methods',
        'parq,ste,parq',
        '--quantizers',
        'unif,unif',
        '--bits',
        '1,1,2',
      ],
      { from: 'user' },
    );
    expect(compare.opts()).toMatchObject({
      hidden: [8, 8, 8],
      methods: ['parq', 'ste'],
      quantizers: ['unif'],
      bits: [1, 2],
    });
    const help = compare.helpInformation();
    for (const flag of ['--methods <set>', '--quantizers <set>', '--bits <set>'])
      expect(help).toContain(flag);
    expect(help).toMatch(/--hidden <sizes>\s+mlp hidden layer sizes, in order/);
  });
});
