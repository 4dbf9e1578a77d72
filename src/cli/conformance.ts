/**
 * `parq conformance FILE`: run golden cases through the public API. A parq-conformance/1 file
 * holds vectors (quantize, prox, schedule, optimizer cases); a parq-trajectory/1 file holds
 * training trajectories of the reference, replayed step by step on MNIST.
 */
import { readFileSync } from 'node:fs';
import {
  CompatMode,
  ConformanceFile,
  runConformance,
  usesReferenceCompat,
} from '../conformance/run.js';
import { checkVectorsFile, VECTORS_FORMAT } from '../conformance/vectors-file.js';
import { checkTrajectoryFile, TRAJECTORY_FORMAT } from '../conformance/trajectory-file.js';
import { runTrajectoryCase, type TrajectoryResult } from '../conformance/trajectory.js';
import { ConformanceFileError } from '../conformance/validate.js';
import { loadMnist } from '../data/mnist.js';

export interface ConformanceOptions {
  compat?: CompatMode;
  verbose?: boolean;
  /** Print one JSON object (the results) instead of text. */
  json?: boolean;
  /** The backend in use, for the report. */
  backend?: string;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(
      `cannot read conformance file '${file}': ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
}

export async function conformanceCommand(
  file: string,
  options: ConformanceOptions,
): Promise<number> {
  const parsed = readJson(file);
  const format = (parsed as { format?: unknown } | null)?.format;
  if (format === TRAJECTORY_FORMAT) return trajectoryCommand(file, parsed, options);
  if (format !== VECTORS_FORMAT && Array.isArray((parsed as { cases?: unknown } | null)?.cases)) {
    throw new ConformanceFileError(
      `unsupported conformance format ${JSON.stringify(format)} (expected ${VECTORS_FORMAT} or ${TRAJECTORY_FORMAT})`,
    );
  }
  checkVectorsFile(parsed);
  return vectorsCommand(file, parsed as ConformanceFile, options);
}

async function vectorsCommand(
  file: string,
  parsed: ConformanceFile,
  options: ConformanceOptions,
): Promise<number> {
  const mode = options.compat ?? 'auto';
  const results = await runConformance(parsed, mode);
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  if (options.json) {
    console.log(
      JSON.stringify({
        file,
        format: VECTORS_FORMAT,
        backend: options.backend,
        passed,
        failed,
        results,
      }),
    );
    return failed > 0 ? 1 : 0;
  }
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
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

function trajectoryLine(r: TrajectoryResult): string {
  const status = r.passed ? 'ok' : 'FAILED';
  const first = r.firstFailingStep === null ? 'none' : String(r.firstFailingStep);
  const final = r.finalFailures.length ? `, final: ${r.finalFailures.join('; ')}` : '';
  return `  ${r.name}: ${status}, ${r.compared} steps, max loss difference ${r.maxLossDiff.toExponential(2)}, first failing step ${first}${final}`;
}

async function trajectoryCommand(
  file: string,
  parsed: unknown,
  options: ConformanceOptions,
): Promise<number> {
  checkTrajectoryFile(parsed);
  // Trajectory files come from the reference: its quantizers, quirks included (unless `exact`).
  const compat = options.compat !== 'exact';
  const data = loadMnist();
  if (!options.json) {
    console.log(`${file}: ${parsed.source ?? 'unknown source'}`);
    console.log(
      `mlp 784-${parsed.model.hidden.join('-')}-10, backend ${options.backend ?? 'unknown'}`,
    );
  }
  const results: TrajectoryResult[] = [];
  for (const c of parsed.cases) {
    const r = await runTrajectoryCase(parsed, c, data, compat);
    results.push(r);
    if (!options.json) console.log(trajectoryLine(r));
  }
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  if (options.json) {
    const brief = results.map(({ losses: _l, ...rest }) => rest);
    console.log(
      JSON.stringify({
        file,
        format: TRAJECTORY_FORMAT,
        backend: options.backend,
        passed,
        failed,
        results: brief,
      }),
    );
  } else console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
