/** `parq train`: one run from flags (or `--resume DIR`), with progress, outputs and a summary. */
import * as tf from '@tensorflow/tfjs';
import { count } from '../util/text-format.js';
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { absoluteDatasetSpec, loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { loadModelFromFile } from '../models/load.js';
import { BUILTIN_MODELS, disposeOptimizer, isBuiltinModel } from '../train/build.js';
import {
  findCheckpoint,
  readCheckpoint,
  readCheckpointState,
  runDirOf,
} from '../train/checkpoint-files.js';
import {
  bitsLabel,
  describeGranularity,
  describeMethod,
  resolveTrainConfig,
  type TrainConfig,
} from '../train/config.js';
import { describeBackend, describeDivergence, type RunMetrics } from '../train/metrics.js';
import { claimOutDir } from '../train/out-dir.js';
import { trainRun, type ResumeFrom, type TrainCallbacks } from '../train/run.js';
import {
  holdsRun,
  METRICS_JSON,
  REPORT_HTML,
  writeRunEpoch,
  writeRunOutputs,
} from '../report/run-folder.js';
import { useBackend } from './backend-option.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, RunFailedError } from './exit-codes.js';
import { handleInterrupts } from './interrupt.js';
import {
  addTrainOptions,
  checkFlagsApply,
  checkRunnable,
  configFromFlags,
  explicitOptions,
  flagName,
  intArg,
  type TrainFlags,
} from './options.js';
import { EpochProgress } from './progress.js';
import { percent, textTable } from './text-table.js';

export interface TrainCommandFlags extends TrainFlags {
  out?: string;
  resume?: string;
  stopAfter?: number;
}

/** Flags that may differ from the checkpoint's config when resuming. */
const RESUME_FREE = new Set([
  'backend',
  'threads',
  'simd',
  'out',
  'resume',
  'stopAfter',
  'quiet',
  'overwrite',
]);

export function registerTrain(program: Command, setCode: (code: number) => void): void {
  const cmd = program
    .command('train')
    .description('train one model (defaults: protocol mlp-mnist10k, 2-bit PARQ + LSBQ)');
  addTrainOptions(cmd, 'train');
  cmd
    .addOption(new Option('--out <dir>', 'write metrics.json, report.html and checkpoint/ here'))
    .addOption(
      new Option('--resume <dir>', 'continue the run checkpointed in DIR (its config is kept)'),
    )
    .addOption(
      new Option(
        '--stop-after <n>',
        'stop after n epochs of this invocation (resume later)',
      ).argParser(intArg(1)),
    )
    .action(async (flags: TrainCommandFlags, command: Command) => {
      setCode(await trainCommand(flags, explicitOptions(command)));
    });
}

/** Runs `parq train`; returns the exit code (0 done, 130 interrupted). */
export async function trainCommand(
  flags: TrainCommandFlags,
  explicit: Set<string> = new Set(),
): Promise<number> {
  const quiet = flags.quiet ?? false;
  // Everything that can be refused is checked before any file is written.
  let config: TrainConfig;
  let resumeDir: string | undefined;
  let out = flags.out;
  if (flags.resume !== undefined) {
    resumeDir = findCheckpoint(flags.resume);
    const state = readCheckpointState(resumeDir);
    config = state.config;
    checkResumeFlags(flags, explicit, config);
    if (state.epoch >= config.epochs) {
      throw new Error(
        `${flags.resume}: the run is already complete (${state.epoch} of ${config.epochs} epochs)`,
      );
    }
    const own = runDirOf(resumeDir);
    if (out !== undefined && resolve(out) !== resolve(own) && holdsRun(out) && !flags.overwrite) {
      throw new Error(
        `--out ${out} already holds another run (the resumed one is in ${own}): --overwrite replaces it`,
      );
    }
    out ??= own;
  } else {
    config = resolveTrainConfig(configFromFlags(flags));
    // Recorded absolute, so that a resume from another folder reads the same files.
    config = { ...config, data: absoluteDatasetSpec(config.data) };
    if (out !== undefined && holdsRun(out) && !flags.overwrite) {
      throw new Error(
        `${out} already holds a run: --resume ${out} continues it, --overwrite replaces it`,
      );
    }
  }
  checkRunnable(config, 'train');
  checkFlagsApply(explicit, [config], flags);

  const backend = await useBackend(flags.backend, {
    threads: flags.threads,
    simd: flags.simd,
    quiet,
  });
  const dataset = loadDataset(config.data, { labelColumn: config.labelColumn });
  let model: tf.LayersModel | undefined;
  let resume: ResumeFrom | undefined;
  if (resumeDir !== undefined) {
    const ckpt = await readCheckpoint(resumeDir);
    model = ckpt.model;
    resume = { state: ckpt.state, optimizerData: ckpt.optimizerData };
  } else if (!isBuiltinModel(config.model)) {
    model = await loadModelFile(config.model);
  }

  // The output folder is created, probed and locked now, before the first epoch.
  const claim = out === undefined ? undefined : claimOutDir(out, '--out');
  const progress = new EpochProgress(quiet);
  const interrupt = handleInterrupts(quiet);
  let wrote = false;
  const callbacks: TrainCallbacks = {
    onEpochStart: (epoch, epochs, batches) => progress.startEpoch(epoch, epochs, batches),
    onBatchEnd: progress.active ? (p) => progress.batch(p) : undefined,
    onEpochEnd: async (record, ctx) => {
      progress.endEpoch(record);
      if (out === undefined) return;
      try {
        await writeRunEpoch(out, ctx.metrics, await ctx.checkpoint());
      } catch (err) {
        const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
        const kept =
          record.epoch > 1 ? `the checkpoint of epoch ${record.epoch - 1}` : 'no checkpoint';
        throw new RunFailedError(`${msg} (epoch ${record.epoch}; ${kept} is left in ${out})`, {
          cause: err,
        });
      }
      wrote = true;
    },
  };
  let result;
  try {
    result = await trainRun(config, {
      dataset,
      model,
      resume,
      callbacks,
      signal: interrupt.signal,
      stopAfter: flags.stopAfter,
      backend,
    });
  } catch (err) {
    progress.abort();
    claim?.release({ removeIfUnused: !wrote && !resume });
    throw err;
  } finally {
    interrupt.dispose();
  }
  progress.abort();
  const { metrics } = result;
  // A stopped or interrupted run records its status next to the checkpoint it left (and
  // touches nothing when it has written nothing yet: an --overwrite'd run stays whole).
  const diverged = metrics.status === 'diverged';
  if (out !== undefined && metrics.status !== 'complete' && (wrote || resume || diverged))
    writeRunOutputs(out, metrics);
  claim?.release();
  if (diverged) {
    disposeOptimizer(result.optimizer);
    result.model.dispose();
    const kept =
      out === undefined
        ? 'nothing was saved (no --out)'
        : metrics.epochsDone > 0
          ? `the checkpoint of epoch ${metrics.epochsDone} is kept in ${out}`
          : `no epoch completed, no checkpoint in ${out}`;
    const where = metrics.diverged ? describeDivergence(metrics.diverged) : 'not finite';
    process.stderr.write(`parq: the run diverged: ${where}; ${kept} (a lower --lr may help)\n`);
    return EXIT_FAILED;
  }
  if (!quiet) process.stdout.write(`${summary(metrics, dataset, out)}\n`);
  else if (metrics.status === 'interrupted')
    process.stderr.write(`parq: interrupted; ${resumeHint(metrics, out)}\n`);
  disposeOptimizer(result.optimizer);
  result.model.dispose();
  return metrics.status === 'interrupted' ? EXIT_INTERRUPTED : EXIT_OK;
}

function checkResumeFlags(
  flags: TrainCommandFlags,
  explicit: Set<string>,
  saved: TrainConfig,
): void {
  const given = configFromFlags(flags);
  for (const key of explicit) {
    if (RESUME_FREE.has(key)) continue;
    const field = (
      key === 'perChannel' || key === 'blockSize' ? 'granularity' : key
    ) as keyof TrainConfig;
    if (!(field in saved)) continue;
    if (JSON.stringify(given[field]) !== JSON.stringify(saved[field])) {
      throw new Error(
        `${flagName(key)}: the checkpoint's run has ${field} ${JSON.stringify(saved[field])}; ` +
          'a resumed run keeps its config (start a new run to change it)',
      );
    }
  }
}

async function loadModelFile(path: string): Promise<tf.LayersModel> {
  try {
    return await loadModelFromFile(path);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const json = /\.json$/i.test(path) ? path : join(path, 'model.json');
    const missing = /^(.*): missing file/.exec(msg)?.[1];
    if (missing !== undefined && existsSync(json) && resolve(missing) !== resolve(json)) {
      throw new Error(
        `--model ${path}: ${missing} is missing (${json} lists it among its weight files)`,
        { cause: err },
      );
    }
    if (/ENOENT|no such file|missing file/i.test(msg)) {
      throw new Error(
        `--model ${path}: not a built-in model (${BUILTIN_MODELS.join(', ')}) and no such file`,
        { cause: err },
      );
    }
    throw new Error(`--model ${path}: cannot load it as a tfjs model (${msg.split('\n')[0]})`, {
      cause: err,
    });
  }
}

function resumeHint(m: RunMetrics, out: string | undefined): string {
  if (out === undefined) return 'nothing was saved (no --out)';
  if (m.epochsDone === 0) return `no epoch completed, nothing to resume in ${out}`;
  return `the checkpoint of epoch ${m.epochsDone} is in ${out}; continue with: parq train --resume ${out}`;
}

/** The end-of-run summary printed on stdout. */
export function summary(m: RunMetrics, dataset: Dataset, out: string | undefined): string {
  const c = m.config;
  const lines: string[] = [];
  const method =
    c.method === 'fp' ? 'fp (float)' : `${describeMethod(c)} ${describeGranularity(c.granularity)}`;
  lines.push('');
  lines.push(
    `${c.model} on ${dataset.name} (${m.dataset.trainSamples} train / ${m.dataset.testSamples} test) · ${method} · ` +
      `${count(c.epochs, 'epoch')} · backend ${describeBackend(m)}`,
  );
  const epochs = m.epochs;
  const every = Math.max(1, Math.ceil(epochs.length / 25));
  const shown = epochs.filter((_e, i) => i % every === 0 || i === epochs.length - 1);
  const hasSlope = shown.some((e) => e.inverseSlope !== undefined);
  const hasRho = shown.some((e) => e.rho !== undefined);
  const headers = [
    'epoch',
    'loss',
    'train acc',
    'test acc',
    ...(hasSlope ? ['inv slope'] : []),
    ...(hasRho ? ['rho'] : []),
    'lr',
  ];
  const rows = shown.map((e) => [
    String(e.epoch),
    e.loss.toFixed(4),
    percent(e.accuracy),
    percent(e.testAccuracy),
    ...(hasSlope ? [e.inverseSlope === undefined ? '-' : e.inverseSlope.toFixed(4)] : []),
    ...(hasRho ? [e.rho === undefined ? '-' : e.rho.toPrecision(3)] : []),
    e.lr.toPrecision(3),
  ]);
  if (rows.length > 0)
    lines.push(
      textTable(
        headers,
        rows,
        headers.map((_, i) => i > 0),
      ),
    );
  if (m.final) {
    lines.push(
      `final test accuracy: ${percent(m.final.testAccuracy)} (loss ${m.final.testLoss.toFixed(4)})`,
    );
  }
  if (m.quantized.length > 0) {
    const ok = m.quantized.every((q) => q.maxDistinctPerGroup <= q.maxLevels);
    if (c.layerBits?.length) {
      const each = m.quantized
        .map((q) => `${q.name} ${q.maxDistinctPerGroup}/${q.maxLevels} (${bitsLabel(q.bits)})`)
        .join(', ');
      lines.push(`levels per group (at most): ${each} ${ok ? '(ok)' : '(TOO MANY)'}`);
    } else {
      const each = m.quantized.map((q) => `${q.name} ${q.maxDistinctPerGroup}`).join(', ');
      lines.push(
        `levels per group (at most ${m.quantized[0].maxLevels} for ${bitsLabel(c.bits)}): ${each} ${ok ? '(ok)' : '(TOO MANY)'}`,
      );
    }
  }
  const t = m.timing;
  lines.push(
    `time: ${t.wallSeconds.toFixed(1)} s (${t.stepsPerSecond.toFixed(1)} steps/s, incl. evaluation)`,
  );
  if (m.status === 'stopped')
    lines.push(`stopped after epoch ${m.epochsDone}: ${resumeHint(m, out)}`);
  if (m.status === 'interrupted') lines.push(`interrupted: ${resumeHint(m, out)}`);
  if (out !== undefined) {
    lines.push(
      `wrote ${out}/${METRICS_JSON}, ${out}/${REPORT_HTML}${m.epochsDone > 0 ? `, ${out}/checkpoint/` : ''}`,
    );
  }
  return lines.join('\n');
}
