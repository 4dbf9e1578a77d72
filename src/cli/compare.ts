/**
 * `parq compare`: several methods / quantizers / bits x seeds on one setup, one after the
 * other; prints the table (mean ± sd) and writes OUT/compare.json, compare.md, report.html
 * and each run's folder OUT/runs/<id>/. Rerunning the same command continues: finished runs
 * are kept, an interrupted one resumes from its checkpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { count } from '../util/text-format.js';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import { loadDataset } from '../data/load.js';
import { loadModelFromFile } from '../models/load.js';
import type { QuantizerName } from '../quant/registry.js';
import { renderCompareReport } from '../report/compare-report.js';
import { disposeOptimizer, isBuiltinModel } from '../train/build.js';
import {
  findCheckpoint,
  readCheckpoint,
  readCheckpointState,
  writeFileAtomic,
} from '../train/checkpoint-files.js';
import {
  compareTable,
  expandCompare,
  summarizeCompare,
  type CompareCase,
  type CompareGrid,
  type CompareSummary,
} from '../train/compare.js';
import { resolveTrainConfig, type MethodName, type TrainConfig } from '../train/config.js';
import type { RunMetrics } from '../train/metrics.js';
import { trainRun, type ResumeFrom } from '../train/run.js';
import { holdsRun, METRICS_JSON, writeRunEpoch, writeRunOutputs } from '../report/run-folder.js';
import { useBackend } from './backend-option.js';
import { handleInterrupts } from './interrupt.js';
import {
  addTrainOptions,
  checkFlagsApply,
  checkRunnable,
  configFromFlags,
  explicitOptions,
  type TrainFlags,
} from './options.js';
import { EpochProgress } from './progress.js';

export interface CompareFlags extends Omit<TrainFlags, 'method' | 'quantizer' | 'bits'> {
  methods: MethodName[];
  quantizers: QuantizerName[];
  bits: number[];
  seeds: number;
  out?: string;
}

export const COMPARE_JSON = 'compare.json';
export const COMPARE_MD = 'compare.md';
export const COMPARE_HTML = 'report.html';
export const RUNS_DIR = 'runs';

export function registerCompare(program: Command, setCode: (code: number) => void): void {
  const cmd = program
    .command('compare')
    .description('compare methods / quantizers / bits over seeds on one setup (table: mean ± sd)');
  addTrainOptions(cmd, 'compare');
  cmd
    .addOption(
      new Option('--out <dir>', 'write compare.json, compare.md, report.html and runs/<id>/ here'),
    )
    .action(async (flags: CompareFlags, command: Command) => {
      setCode(await compareCommand(flags, explicitOptions(command)));
    });
}

/** What to do with one run of the grid. */
type Plan =
  { kind: 'new' } | { kind: 'done'; metrics: RunMetrics } | { kind: 'resume'; dir: string };

/** Runs `parq compare`; returns the exit code (0 done, 130 interrupted). */
export async function compareCommand(
  flags: CompareFlags,
  explicit: Set<string> = new Set(),
): Promise<number> {
  const quiet = flags.quiet ?? false;
  const base = resolveTrainConfig(configFromFlags({ ...flags, bits: flags.bits[0] } as TrainFlags));
  const seeds = Array.from({ length: flags.seeds }, (_, i) => base.seed + i);
  const grid: CompareGrid = {
    methods: flags.methods,
    quantizers: flags.quantizers,
    bits: flags.bits,
    seeds,
  };
  const cases = expandCompare(base, grid);
  for (const c of cases) checkRunnable(c.config, 'compare');
  checkFlagsApply(
    explicit,
    cases.map((c) => c.config),
    flags,
  );
  const out = flags.out;
  const plans = cases.map((c) => planRun(c, out, flags.overwrite ?? false));

  const backend = await useBackend(flags.backend, {
    threads: flags.threads,
    simd: flags.simd,
    quiet,
  });
  const dataset = loadDataset(base.data, { labelColumn: base.labelColumn });
  const interrupt = handleInterrupts(quiet);
  const results: RunMetrics[] = [];
  const started = Date.now();
  try {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i];
      const plan = plans[i];
      const tag = `[${i + 1}/${cases.length}] ${c.id}`;
      if (plan.kind === 'done') {
        results.push(plan.metrics);
        note(quiet, `${tag}: kept (test ${pct(plan.metrics.final?.testAccuracy)})`);
        continue;
      }
      const runDir = out === undefined ? undefined : join(out, RUNS_DIR, c.id);
      let model: tf.LayersModel | undefined;
      let resume: ResumeFrom | undefined;
      if (plan.kind === 'resume') {
        const ckpt = await readCheckpoint(plan.dir);
        model = ckpt.model;
        resume = { state: ckpt.state, optimizerData: ckpt.optimizerData };
      } else if (!isBuiltinModel(c.config.model)) {
        model = await loadModelFromFile(c.config.model);
      }
      const progress = new EpochProgress(quiet, `${tag} `);
      let wrote = false;
      const result = await trainRun(c.config, {
        dataset,
        model,
        resume,
        signal: interrupt.signal,
        backend,
        callbacks: {
          onEpochStart: (e, n, b) => progress.startEpoch(e, n, b),
          onBatchEnd: progress.active ? (p) => progress.batch(p) : undefined,
          onEpochEnd: async (record, ctx) => {
            progress.endEpoch(record);
            if (runDir === undefined) return;
            await writeRunEpoch(runDir, ctx.metrics, await ctx.checkpoint());
            wrote = true;
          },
        },
      }).finally(() => progress.abort());
      disposeOptimizer(result.optimizer);
      result.model.dispose();
      const m = result.metrics;
      if (m.status === 'interrupted') {
        if (runDir !== undefined && (wrote || resume)) writeRunOutputs(runDir, m);
        process.stderr.write(
          `parq: interrupted during ${c.id}` +
            (out === undefined
              ? '\n'
              : `; run the same command again to continue (finished runs are kept)\n`),
        );
        return 130;
      }
      results.push(m);
      note(
        quiet,
        `${tag}: test ${pct(m.final?.testAccuracy)} (${m.timing.wallSeconds.toFixed(1)} s)`,
      );
    }
  } finally {
    interrupt.dispose();
  }
  const summary = summarizeCompare(base, grid, cases, results);
  summary.wallSeconds = results.reduce((a, m) => a + m.timing.wallSeconds, 0);
  if (out !== undefined) writeCompareOutputs(out, summary);
  if (!quiet) {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `\n${base.model} on ${dataset.name}, ${count(base.epochs, 'epoch')}, ${count(seeds.length, 'seed')}, backend ${backend} (${secs} s)\n` +
        `${compareTable(summary)}\n` +
        (out === undefined
          ? '(add --out DIR to keep the table, reports and checkpoints)\n'
          : `report: ${join(out, COMPARE_HTML)}\n`),
    );
  }
  return 0;
}

/** Writes OUT/compare.json, compare.md and report.html. */
export function writeCompareOutputs(out: string, summary: CompareSummary): void {
  writeFileAtomic(join(out, COMPARE_JSON), `${JSON.stringify(summary, null, 1)}\n`);
  writeFileAtomic(join(out, COMPARE_MD), `${compareTable(summary)}\n`);
  writeFileAtomic(join(out, COMPARE_HTML), renderCompareReport(summary));
}

/** Keep a finished run, resume a checkpointed one, or start fresh; refuse a foreign run. */
function planRun(c: CompareCase, out: string | undefined, overwrite: boolean): Plan {
  if (out === undefined) return { kind: 'new' };
  const dir = join(out, RUNS_DIR, c.id);
  if (!holdsRun(dir)) return { kind: 'new' };
  const metricsPath = join(dir, METRICS_JSON);
  let metrics: RunMetrics | undefined;
  if (existsSync(metricsPath)) {
    try {
      metrics = JSON.parse(readFileSync(metricsPath, 'utf8')) as RunMetrics;
    } catch {
      metrics = undefined;
    }
  }
  const want = JSON.stringify(c.config);
  if (metrics?.status === 'complete' && JSON.stringify(metrics.config) === want)
    return { kind: 'done', metrics };
  let checkpointConfig: TrainConfig | undefined;
  try {
    checkpointConfig = readCheckpointState(findCheckpoint(dir)).config;
  } catch {
    checkpointConfig = undefined;
  }
  if (JSON.stringify(checkpointConfig) === want) return { kind: 'resume', dir };
  if (overwrite) return { kind: 'new' };
  throw new Error(`${dir} holds a different run: use another --out, or --overwrite to replace it`);
}

function note(quiet: boolean, line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

function pct(x: number | undefined): string {
  return x === undefined ? '-' : `${(100 * x).toFixed(2)}%`;
}
