/**
 * Comparing methods: a grid of runs on one setup (methods x quantizers x bits x seeds) and
 * its summary (test accuracy mean ± population sd per configuration). Browser-safe.
 */
import type { QuantizerName } from '../quant/registry.js';
import { bitsLabel, isQuantMethod, type MethodName, type TrainConfig } from './config.js';
import type { RunMetrics } from './metrics.js';
import { meanSd } from './stats.js';

export const COMPARE_FORMAT = 'parq-compare/1';

export interface CompareGrid {
  methods: MethodName[];
  quantizers: QuantizerName[];
  bits: number[];
  seeds: number[];
}

/** One run of a comparison. */
export interface CompareCase {
  /** A file-name-safe id, e.g. `parq-lsbq-2b-s0`, `fp-s1`. */
  id: string;
  /** The configuration this run belongs to (runs differing only by seed share it). */
  group: string;
  config: TrainConfig;
}

/**
 * The runs of a grid over `base`: every method x quantizer x bits x seed, except that `fp`
 * runs once per seed (it has no quantizer or bits). Order: seeds innermost.
 */
export function expandCompare(base: TrainConfig, grid: CompareGrid): CompareCase[] {
  if (grid.methods.length === 0) throw new Error('compare: no methods');
  if (grid.seeds.length === 0) throw new Error('compare: no seeds');
  const out: CompareCase[] = [];
  const seen = new Set<string>();
  for (const method of grid.methods) {
    const quantizers = isQuantMethod(method) ? grid.quantizers : [base.quantizer];
    const bitsList = isQuantMethod(method) ? grid.bits : [base.bits];
    for (const bits of bitsList) {
      for (const quantizer of quantizers) {
        const group = groupLabel(method, quantizer, bits);
        if (seen.has(group)) continue;
        seen.add(group);
        for (const seed of grid.seeds) {
          const id = isQuantMethod(method)
            ? `${method}-${quantizer}-${bits === 0 ? 'ternary' : `${bits}b`}-s${seed}`
            : `${method}-s${seed}`;
          out.push({
            id,
            group,
            config: { ...structuredClone(base), method, quantizer, bits, seed },
          });
        }
      }
    }
  }
  return out;
}

/** `parq lsbq 2-bit`, `fp`. */
export function groupLabel(method: MethodName, quantizer: string, bits: number): string {
  return isQuantMethod(method) ? `${method} ${quantizer} ${bitsLabel(bits)}` : method;
}

/** One configuration of a comparison, over its seeds. */
export interface CompareRow {
  group: string;
  method: MethodName;
  /** `none` for fp. */
  quantizer: string;
  /** null for fp (float). */
  bits: number | null;
  seeds: number[];
  /** Final test accuracy of each seed (fraction), and their mean and population sd. */
  accuracies: number[];
  mean: number;
  sd: number;
  /** Mean test accuracy per epoch over the seeds (NaN where some seed did not evaluate). */
  curve: number[];
  /** Mean train loss per epoch over the seeds. */
  lossCurve: number[];
  /** Mean wall seconds of a run. */
  seconds: number;
  /** Every quantized tensor of every seed holds at most its levels per group. */
  levelsOk: boolean;
  /** The run ids (folders under runs/). */
  runs: string[];
}

export interface CompareSummary {
  format: typeof COMPARE_FORMAT;
  /** The setup shared by all runs (method, quantizer, bits and seed vary). */
  base: TrainConfig;
  grid: CompareGrid;
  backend: string;
  rows: CompareRow[];
  wallSeconds: number;
}

/** Summarizes finished runs (`results[i]` is the run of `cases[i]`) into rows. */
export function summarizeCompare(
  base: TrainConfig,
  grid: CompareGrid,
  cases: CompareCase[],
  results: RunMetrics[],
): CompareSummary {
  if (cases.length !== results.length) throw new Error('summarizeCompare: one result per case');
  const rows: CompareRow[] = [];
  const byGroup = new Map<string, number[]>();
  cases.forEach((c, i) => byGroup.set(c.group, [...(byGroup.get(c.group) ?? []), i]));
  for (const [group, idx] of byGroup) {
    const first = cases[idx[0]].config;
    const ms = idx.map((i) => results[i]);
    const accuracies = ms.map((m) => m.final?.testAccuracy ?? NaN);
    const { mean, sd } = meanSd(accuracies);
    const epochs = Math.max(...ms.map((m) => m.epochs.length));
    const curve: number[] = [];
    const lossCurve: number[] = [];
    for (let e = 0; e < epochs; e++) {
      curve.push(meanSd(ms.map((m) => m.epochs[e]?.testAccuracy ?? NaN)).mean);
      lossCurve.push(meanSd(ms.map((m) => m.epochs[e]?.loss ?? NaN)).mean);
    }
    rows.push({
      group,
      method: first.method,
      quantizer: isQuantMethod(first.method) ? first.quantizer : 'none',
      bits: isQuantMethod(first.method) ? first.bits : null,
      seeds: idx.map((i) => cases[i].config.seed),
      accuracies,
      mean,
      sd,
      curve,
      lossCurve,
      seconds: meanSd(ms.map((m) => m.timing.wallSeconds)).mean,
      levelsOk: ms.every((m) => m.quantized.every((q) => q.maxDistinctPerGroup <= q.maxLevels)),
      runs: idx.map((i) => cases[i].id),
    });
  }
  return {
    format: COMPARE_FORMAT,
    base: structuredClone(base),
    grid: structuredClone(grid),
    backend: results[0]?.backend ?? 'unknown',
    rows,
    wallSeconds: results.reduce((a, m) => a + m.timing.wallSeconds, 0),
  };
}

/** `96.53 ± 0.12` (percent, population sd); `96.53` alone for one seed (`seeds` = 1). */
export function formatMeanSd(mean: number, sd: number, digits = 2, seeds = 2): string {
  if (!Number.isFinite(mean)) return '–';
  if (seeds === 1) return (100 * mean).toFixed(digits);
  return `${(100 * mean).toFixed(digits)} ± ${(100 * (Number.isFinite(sd) ? sd : 0)).toFixed(digits)}`;
}

/** The summary as a Markdown table (what `parq compare` prints and writes to compare.md). */
export function compareTable(s: CompareSummary): string {
  const lines = [
    '| method | quantizer | bits | test accuracy % (mean ± sd) | seeds | levels ok | time / run |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of s.rows) {
    lines.push(
      `| ${r.method} | ${r.quantizer} | ${r.bits === null ? '32 (float)' : r.bits === 0 ? 'ternary' : r.bits} | ` +
        `${formatMeanSd(r.mean, r.sd, 2, r.seeds.length)} | ${r.seeds.length} | ${r.bits === null ? '–' : r.levelsOk ? 'yes' : 'NO'} | ` +
        `${r.seconds.toFixed(1)} s |`,
    );
  }
  return lines.join('\n');
}
