/// <reference types="node" />
// Bad flags through the real binary: one line `parq: <problem>` on stderr, exit code 2.
import { describe, expect, it } from 'vitest';
import { beforeAll } from 'vitest';
import { ensureBuilt, parq } from './helpers.js';

beforeAll(() => ensureBuilt());

/** Runs parq and checks the one-line error; returns the line. */
function fails(args: string[]): string {
  const r = parq(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^parq: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

describe('parq: bad flags', () => {
  it.each([
    [['train', '--nope'], /unknown option '--nope'/],
    [['trian'], /unknown command 'trian' \(Did you mean train\?\)/],
    [['train', '--bits', '9'], /--bits.*'9' is invalid.*1\.\.8/],
    [['train', '--bits', 'two'], /--bits.*'two' is invalid/],
    [['train', '--epochs', '0'], /--epochs.*'0' is invalid/],
    [['train', '--lr', 'fast'], /--lr.*'fast' is invalid/],
    [['train', '--method', 'magic'], /--method.*'magic' is invalid.*fp, ste, parq/],
    [['train', '--backend', 'tpu'], /--backend.*'tpu' is invalid/],
    [['compare', '--methods', 'fp,magic'], /unknown method 'magic'/],
    [['train', '--per-channel', '--block-size', '4'], /--per-channel and --block-size/],
    [['train', '--quantizer', 'lsbq-optimal', '--bits', '4'], /lsbq-optimal with --bits 4/],
    [['train', '--model', 'lenet5', '--hidden', '8'], /--hidden applies to --model mlp only/],
    // flags that would do nothing (issue 18, item 13): refused, derived from the schema
    [
      ['train', '--method', 'fp', '--bits', '2'],
      /--bits applies to --method ste, parq, .*admmq only/,
    ],
    [['train', '--method', 'fp', '--per-channel'], /--per-channel applies to --method ste,/],
    [
      ['train', '--method', 'admmq', '--anneal-start', '0.1'],
      /--anneal-start applies to --method parq, binaryrelax, softquant only/,
    ],
    [['train', '--method', 'ste', '--steepness', '5'], /--steepness applies to --method parq only/],
    [['train', '--method', 'parq', '--rho', '0.01'], /--rho applies to --method admmq only/],
    [['train', '--label-column', 'y'], /--label-column applies to --data csv:FILE only/],
    [
      ['train', '--backend', 'cpu', '--threads', '2'],
      /--threads applies to --backend wasm \(or auto\) only/,
    ],
    [
      ['train', '--backend', 'cpu', '--simd', 'simd128'],
      /--simd applies to --backend wasm \(or auto\) only/,
    ],
    [['train', '--simd', 'avx'], /--simd.*'avx' is invalid/],
    [
      ['conformance', '../shared/conformance/vectors.json', '--simd', 'relaxed'],
      /--simd applies to --backend wasm only/,
    ],
    [
      ['train', '--optimizer', 'adam', '--momentum', '0.5'],
      /--momentum applies to --optimizer momentum only/,
    ],
    [['train', '--lr-step-epochs', '3'], /--lr-step-epochs applies to --lr-schedule step only/],
    [
      ['compare', '--methods', 'fp,admmq', '--steepness', '5'],
      /--steepness applies to --method parq only/,
    ],
    [['compare', '--methods', 'fp', '--bits', '1,2'], /--bits applies to --method ste,/],
    [['train', '--model', 'no-such-model'], /no-such-model: not a built-in model/],
    [['eval', '/no/such/dir'], /\/no\/such\/dir: no such file or folder/],
    [['info', '/'], /no checkpoint here/],
  ])('%j', (args, message) => {
    expect(fails(args as string[])).toMatch(message as RegExp);
  });
});
