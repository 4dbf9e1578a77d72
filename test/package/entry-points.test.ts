import { expect, it } from 'vitest';
import { bundleForBrowser, bundleWithoutExternals } from '../bundle-helpers.js';

const nodeImports = async (src: string) =>
  (await bundleForBrowser(src)).staticImports.filter((p) => p.startsWith('node:'));

it("the package root ('parq-ts') is browser-safe: no static import of a Node module", async () => {
  expect(await nodeImports('index.ts')).toEqual([]);
});

it("'parq-ts/node' does bring the Node-only loaders (the check above can fail)", async () => {
  expect((await nodeImports('node.ts')).length).toBeGreaterThan(0);
});

it('a plain browser bundle of the root entry (no externals) builds, tfjs included', async () => {
  const { inputs, errors } = await bundleWithoutExternals('index.ts');
  expect(errors).toEqual([]);
  expect(inputs.some((f) => f.includes('@tensorflow/tfjs-core'))).toBe(true);
});

it("the same bundle of 'parq-ts/node' fails on its Node modules (the check above can fail)", async () => {
  const { errors } = await bundleWithoutExternals('node.ts');
  expect(errors.some((e) => /Could not resolve "node:/.test(e))).toBe(true);
});
