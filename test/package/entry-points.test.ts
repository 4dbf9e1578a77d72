import { expect, it } from 'vitest';
import { bundleForBrowser } from '../bundle-helpers.js';

const nodeImports = async (src: string) =>
  (await bundleForBrowser(src)).staticImports.filter((p) => p.startsWith('node:'));

it("the package root ('parq-ts') is browser-safe: no static import of a Node module", async () => {
  expect(await nodeImports('index.ts')).toEqual([]);
});

it("'parq-ts/node' does bring the Node-only loaders (the check above can fail)", async () => {
  expect((await nodeImports('node.ts')).length).toBeGreaterThan(0);
});
