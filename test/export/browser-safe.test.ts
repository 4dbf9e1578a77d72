import { expect, it } from 'vitest';
import { bundleForBrowser } from '../bundle-helpers.js';

it("src/export's entry point pulls in no Node module until a Node-only helper is called", async () => {
  const { meta, entry, staticImports } = await bundleForBrowser('export/index.ts');
  expect(staticImports.filter((p) => p.startsWith('node:'))).toEqual([]);
  // the Node helpers are there, behind a dynamic import
  const dynamic = meta.outputs[entry].imports.filter((i) => i.kind === 'dynamic-import');
  expect(dynamic.length).toBeGreaterThan(0);
  const lazy = dynamic.flatMap((d) => meta.outputs[d.path].imports.map((i) => i.path));
  expect(lazy).toContain('node:fs');
});
