import { expect, it } from 'vitest';
import { bundleForBrowser } from '../bundle-helpers.js';

it("src/export's entry point imports no Node module, statically or dynamically", async () => {
  const { meta } = await bundleForBrowser('export/index.ts');
  const all = Object.values(meta.outputs).flatMap((o) => o.imports.map((i) => i.path));
  expect(all.filter((p) => p.startsWith('node:'))).toEqual([]);
});

it('its Node file helpers (files.ts, exported by parq-ts/node) do import node:fs', async () => {
  const { staticImports } = await bundleForBrowser('export/files.ts');
  expect(staticImports).toContain('node:fs');
});
