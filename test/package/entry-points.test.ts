/// <reference types="node" />
import { build, type Metafile } from 'esbuild';
import { expect, it } from 'vitest';

function staticClosure(meta: Metafile, file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const imp of meta.outputs[file]?.imports ?? []) {
    if (imp.kind === 'import-statement') staticClosure(meta, imp.path, seen);
  }
  return seen;
}

async function staticNodeImports(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [new URL(`../../src/${entry}`, import.meta.url).pathname],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    outdir: 'out',
    write: false,
    metafile: true,
    external: ['@tensorflow/*', 'node:*'],
    logLevel: 'silent',
  });
  const meta = result.metafile;
  const out = Object.keys(meta.outputs).find((f) => meta.outputs[f].entryPoint)!;
  return [...staticClosure(meta, out)]
    .flatMap((f) => (meta.outputs[f]?.imports ?? []).filter((i) => i.kind === 'import-statement'))
    .map((i) => i.path)
    .filter((p) => p.startsWith('node:'));
}

it("the package root ('parq-ts') is browser-safe: no static import of a Node module", async () => {
  expect(await staticNodeImports('index.ts')).toEqual([]);
});

it("'parq-ts/node' does bring the Node-only loaders (the check above can fail)", async () => {
  expect((await staticNodeImports('node.ts')).length).toBeGreaterThan(0);
});
