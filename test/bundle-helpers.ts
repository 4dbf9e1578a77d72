/// <reference types="node" />
/** Bundle a source entry for the browser (esbuild) and inspect what it imports. */
import { build, type Metafile } from 'esbuild';

export interface BrowserBundle {
  meta: Metafile;
  /** The output file of the entry point. */
  entry: string;
  /** Imports reached through static imports only (dynamic imports load lazily). */
  staticImports: string[];
}

function staticClosure(meta: Metafile, file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const imp of meta.outputs[file]?.imports ?? []) {
    if (imp.kind === 'import-statement') staticClosure(meta, imp.path, seen);
  }
  return seen;
}

/** `src` is a path under src/, e.g. 'index.ts'. tfjs and node: modules stay external. */
export async function bundleForBrowser(src: string): Promise<BrowserBundle> {
  const result = await build({
    entryPoints: [new URL(`../src/${src}`, import.meta.url).pathname],
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
  const entry = Object.keys(meta.outputs).find((f) => meta.outputs[f].entryPoint)!;
  const staticImports = [...staticClosure(meta, entry)].flatMap((f) =>
    (meta.outputs[f]?.imports ?? [])
      .filter((i) => i.kind === 'import-statement')
      .map((i) => i.path),
  );
  return { meta, entry, staticImports };
}

/**
 * Bundles `src` (a path under src/) for the browser with nothing external, as a plain
 * `esbuild --bundle --platform=browser` would; returns the inputs that went in and the
 * errors (a Node module the entry reaches, statically or dynamically, is one).
 */
export async function bundleWithoutExternals(
  src: string,
): Promise<{ inputs: string[]; errors: string[] }> {
  try {
    const result = await build({
      entryPoints: [new URL(`../src/${src}`, import.meta.url).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outdir: 'out',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    return { inputs: Object.keys(result.metafile.inputs), errors: [] };
  } catch (e) {
    const errors = (e as { errors?: { text: string }[] }).errors ?? [{ text: String(e) }];
    return { inputs: [], errors: errors.map((x) => x.text) };
  }
}
