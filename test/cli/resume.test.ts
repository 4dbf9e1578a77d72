/// <reference types="node" />
// `parq train --stop-after` then `--resume` continues exactly: the final weights, optimizer
// state and metrics equal those of one uninterrupted run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parq, readJson, stableMetrics, tinyCsvFixture } from './helpers.js';

const fixture = tinyCsvFixture('parq-cli-resume-');
const tiny = fixture.tiny;
beforeAll(fixture.setup);
afterAll(fixture.cleanup);

describe('parq train --resume', () => {
  it.each([
    ['parq', []],
    ['admmq', []],
    ['fp', ['--optimizer', 'adam', '--lr', '0.01']],
    ['ste', ['--optimizer', 'adam', '--lr', '0.01', '--per-channel']],
  ])('resumes %s exactly: 2 epochs + resume 2 equals 4 epochs', (method, extra) => {
    const args = [...tiny(), '--epochs', '4', '--method', method, ...extra];
    const whole = join(fixture.dir, `whole-${method}`);
    const split = join(fixture.dir, `split-${method}`);
    expect(parq(['train', ...args, '--out', whole]).code).toBe(0);
    expect(parq(['train', ...args, '--out', split, '--stop-after', '2']).code).toBe(0);
    expect(readJson(join(split, 'metrics.json'))).toMatchObject({
      status: 'stopped',
      epochsDone: 2,
    });
    expect(readJson(join(split, 'checkpoint', 'state.json'))).toMatchObject({
      epoch: 2,
      dataOrder: { nextEpoch: 2 },
    });
    const resumed = parq(['train', '--resume', split, '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    for (const f of ['weights.bin', 'optimizer.bin']) {
      const a = readFileSync(join(whole, 'checkpoint', f));
      const b = readFileSync(join(split, 'checkpoint', f));
      expect(Buffer.compare(a, b), f).toBe(0);
    }
    expect(stableMetrics(join(split, 'metrics.json'))).toEqual(
      stableMetrics(join(whole, 'metrics.json')),
    );
  });

  it('resumes parq --quant-shrink exactly through a chain of resumes (1 + 1 + 1 + 3 epochs)', () => {
    // Each resume restores the cumulative lr (quantShrink divides by it once it passes 1):
    // a float32 copy of it drifted in its last bits, resume after resume.
    const args = [...tiny(), '--epochs', '6', '--lr', '0.5', '--quant-shrink'];
    const whole = join(fixture.dir, 'whole-shrink');
    const split = join(fixture.dir, 'split-shrink');
    expect(parq(['train', ...args, '--out', whole]).code).toBe(0);
    expect(parq(['train', ...args, '--out', split, '--stop-after', '1']).code).toBe(0);
    for (const more of [['--stop-after', '1'], ['--stop-after', '1'], []]) {
      const r = parq(['train', '--resume', split, '--quiet', ...more]);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const f of ['weights.bin', 'optimizer.bin']) {
      const a = readFileSync(join(whole, 'checkpoint', f));
      const b = readFileSync(join(split, 'checkpoint', f));
      expect(Buffer.compare(a, b), f).toBe(0);
    }
    expect(stableMetrics(join(split, 'metrics.json'))).toEqual(
      stableMetrics(join(whole, 'metrics.json')),
    );
  });
});
