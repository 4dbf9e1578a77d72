/// <reference types="node" />
import { build, type Metafile } from 'esbuild';
import { expect, it } from 'vitest';

/** Output files reachable from `file` through static imports only (dynamic imports load lazily). */
function staticClosure(meta: Metafile, file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const imp of meta.outputs[file]?.imports ?? []) {
    if (imp.kind === 'import-statement') staticClosure(meta, imp.path, seen);
  }
  return seen;
}

it("src/export's entry point pulls in no Node module until a Node-only helper is called", async () => {
  const result = await build({
    entryPoints: [new URL('../../src/export/index.ts', import.meta.url).pathname],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    outdir: 'out',
    write: false,
    metafile: true,
    external: ['@tensorflow/tfjs', 'node:*'],
    logLevel: 'silent',
  });
  const meta = result.metafile;
  const entry = Object.keys(meta.outputs).find((f) => meta.outputs[f].entryPoint)!;
  const reachable = staticClosure(meta, entry);
  const staticImports = [...reachable].flatMap((f) =>
    (meta.outputs[f]?.imports ?? [])
      .filter((i) => i.kind === 'import-statement')
      .map((i) => i.path),
  );
  expect(staticImports.filter((p) => p.startsWith('node:'))).toEqual([]);
  // the Node helpers are there, behind a dynamic import
  const dynamic = meta.outputs[entry].imports.filter((i) => i.kind === 'dynamic-import');
  expect(dynamic.length).toBeGreaterThan(0);
  const lazy = dynamic.flatMap((d) => meta.outputs[d.path].imports.map((i) => i.path));
  expect(lazy).toContain('node:fs');
});
