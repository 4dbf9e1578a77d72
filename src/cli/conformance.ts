/** `parq conformance FILE`: run golden cases through the public API. */
import { readFileSync } from 'node:fs';
import {
  CompatMode,
  ConformanceFile,
  runConformance,
  usesReferenceCompat,
} from '../conformance/run.js';

export interface ConformanceOptions {
  compat?: CompatMode;
  verbose?: boolean;
}

export async function conformanceCommand(
  file: string,
  options: ConformanceOptions,
): Promise<number> {
  let parsed: ConformanceFile;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as ConformanceFile;
  } catch (e) {
    throw new Error(
      `cannot read conformance file '${file}': ${e instanceof Error ? e.message : e}`,
      {
        cause: e,
      },
    );
  }
  const mode = options.compat ?? 'auto';
  const results = await runConformance(parsed, mode);
  const byKind = new Map<string, { passed: number; failed: number }>();
  for (const r of results) {
    const k = byKind.get(r.kind) ?? { passed: 0, failed: 0 };
    if (r.passed) k.passed++;
    else k.failed++;
    byKind.set(r.kind, k);
  }
  console.log(`${file}: ${parsed.source ?? 'unknown source'}`);
  console.log(`reference-compat quirks: ${usesReferenceCompat(parsed, mode) ? 'on' : 'off'}`);
  for (const r of results) {
    if (!r.passed || options.verbose) {
      console.log(`  case ${r.index} ${r.label}: ${r.passed ? 'ok' : `FAILED (${r.detail})`}`);
    }
  }
  for (const [kind, k] of byKind) console.log(`  ${kind}: ${k.passed} passed, ${k.failed} failed`);
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
