import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'parq-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('installs from its npm pack tarball into another project, imports and trains', () => {
  execFileSync('npm', ['pack', '--pack-destination', work], { cwd: root, stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', type: 'module', private: true }),
  );
  execFileSync(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--omit=optional',
      join(work, tarball!),
    ],
    { cwd: app, stdio: 'pipe' },
  );
  writeFileSync(
    join(app, 'main.js'),
    `import * as tf from '@tensorflow/tfjs';
import { QuantOptimizer, ProxPARQ, LSBQuantizer } from 'parq-ts';
import { selectBackend, buildModel } from 'parq-ts/node';
const { backend } = await selectBackend('wasm');
const model = buildModel('mlp', { inputShape: [4], numClasses: 2, hidden: [8], seed: 1 });
const optimizer = new QuantOptimizer({ base: tf.train.momentum(0.05, 0.9), quantizer: new LSBQuantizer(), prox: new ProxPARQ({ annealStart: 0, annealEnd: 4 }), bits: 1 });
model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' });
const x = tf.randomNormal([32, 4]);
const y = tf.randomUniform([32], 0, 2, 'int32').toFloat();
await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
const sizes = model.weights.filter((w) => w.originalName.endsWith('kernel')).map((w) => new Set(w.read().dataSync()).size);
console.log(JSON.stringify({ backend, step: optimizer.step, sizes }));
`,
  );
  const out = execFileSync('node', ['main.js'], { cwd: app, encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop()!);
  expect(result.backend).toBe('wasm');
  expect(result.step).toBe(12);
  for (const s of result.sizes) expect(s).toBeLessThanOrEqual(2);
  const bin = execFileSync(join(app, 'node_modules/.bin/parq'), ['--help'], { encoding: 'utf8' });
  expect(bin).toMatch(/conformance/);
});
