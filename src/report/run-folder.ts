/// <reference types="node" />
/**
 * A run's output folder (node only): metrics.json, report.html and checkpoint/, each
 * replaced atomically, so a reader or an interrupted run never sees a half-written file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { renderRunReport } from './run-report.js';
import { CHECKPOINT_DIR, writeCheckpoint, writeFileAtomic } from '../train/checkpoint-files.js';
import type { CheckpointData } from '../train/checkpoint.js';
import type { RunMetrics } from '../train/metrics.js';

export const METRICS_JSON = 'metrics.json';
export const REPORT_HTML = 'report.html';

/** Writes OUT/metrics.json and OUT/report.html for `metrics`. */
export function writeRunOutputs(outDir: string, metrics: RunMetrics): void {
  writeFileAtomic(join(outDir, METRICS_JSON), `${JSON.stringify(metrics, null, 1)}\n`);
  writeFileAtomic(join(outDir, REPORT_HTML), renderRunReport(metrics));
}

/** Writes the checkpoint, then the metrics and report of the same epoch. */
export async function writeRunEpoch(
  outDir: string,
  metrics: RunMetrics,
  checkpoint: CheckpointData,
): Promise<void> {
  await writeCheckpoint(outDir, checkpoint);
  writeRunOutputs(outDir, metrics);
}

/** Does `dir` already hold a run (metrics.json or a checkpoint)? */
export function holdsRun(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false; // claimOutDir names that
  const names = readdirSync(dir);
  return (
    names.includes(METRICS_JSON) ||
    names.includes(CHECKPOINT_DIR) ||
    names.includes(`${CHECKPOINT_DIR}.old`)
  );
}
