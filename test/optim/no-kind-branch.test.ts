/// <reference types="node" />
/**
 * Nothing outside src/optim asks which QAT optimizer it holds: the training loop, the CLI,
 * export, the reports and the playground read optimizers through QatInspection only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const FOLDERS = ['src/train', 'src/cli', 'src/export', 'src/report', 'web/src'];
const KIND =
  /instanceof\s+(QATOptimizer|QuantOptimizer|ADMMQOptimizer)\b|(getClassName\(\)|className)\s*[!=]==?\s*['"`](QuantOptimizer|ADMMQOptimizer)|\.(getLatent|getZ)\(/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.ts$/.test(name) ? [path] : [];
  });
}

describe('no branch on the optimizer kind outside src/optim', () => {
  it.each(FOLDERS)('%s', (folder) => {
    const hits: string[] = [];
    for (const path of files(join(ROOT, folder))) {
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (KIND.test(line)) hits.push(`${path.slice(ROOT.length)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });

  it('the pattern catches such a branch', () => {
    expect(KIND.test('if (opt instanceof ADMMQOptimizer) z = opt.getZ(k);')).toBe(true);
    expect(KIND.test("o.getClassName() === 'QuantOptimizer'")).toBe(true);
    expect(KIND.test('quant?.getLatent(k) ?? admm?.getZ(k)')).toBe(true);
    expect(KIND.test('const q = qatInspection(optimizer);')).toBe(false);
  });
});
