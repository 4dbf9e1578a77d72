/** `parq eval CHECKPOINT`: test accuracy and loss of a saved model on a dataset split. */
import { Command, Option } from 'commander';
import { loadDataset } from '../data/load.js';
import { checkModelFits } from '../train/build.js';
import { limitSplit } from '../train/data.js';
import { evaluateModel } from '../train/evaluate.js';
import { inspectQuantized } from '../train/inspect.js';
import { BACKEND_NAMES, useBackend } from './backend-option.js';
import { openModelSource } from './model-source.js';
import { intArg } from './options.js';
import { percent } from './text-table.js';

export interface EvalFlags {
  data?: string;
  labelColumn?: string;
  split: 'test' | 'train';
  limit?: number;
  batchSize: number;
  backend: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerEval(program: Command, setCode: (code: number) => void): void {
  program
    .command('eval')
    .description('evaluate a checkpoint (a run folder or its checkpoint/) on a dataset split')
    .argument('<checkpoint>', 'a run output folder, or its checkpoint/ folder')
    .addOption(new Option('--data <spec>', "dataset (default: the run's own)"))
    .addOption(new Option('--label-column <name>', "csv: the label column (default: the run's)"))
    .addOption(
      new Option('--split <name>', 'which split').choices(['test', 'train']).default('test'),
    )
    .addOption(
      new Option(
        '--limit <n>',
        "a fixed random subset of n samples (default: the run's limit on its own data)",
      ).argParser(intArg(0)),
    )
    .addOption(
      new Option('--batch-size <n>', 'samples per forward pass').argParser(intArg(1)).default(256),
    )
    .addOption(
      new Option('--backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default('wasm'),
    )
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print the accuracy alone (a fraction), no notices')
    .action(async (path: string, flags: EvalFlags) => {
      setCode(await evalCommand(path, flags));
    });
}

export async function evalCommand(path: string, flags: EvalFlags): Promise<number> {
  const backend = await useBackend(flags.backend, { quiet: flags.quiet });
  const src = await openModelSource(path);
  try {
    const spec = flags.data ?? src.config?.data;
    if (spec === undefined)
      throw new Error(`${path}: the source does not record its dataset: give --data`);
    const labelColumn = flags.labelColumn ?? src.config?.labelColumn ?? 'label';
    const dataset = loadDataset(spec, { labelColumn });
    checkModelFits(src.model, dataset);
    const ownData = flags.data === undefined || flags.data === src.config?.data;
    const runLimit = src.config
      ? flags.split === 'test'
        ? src.config.limitTest
        : src.config.limitTrain
      : 0;
    const limit = flags.limit ?? (ownData ? runLimit : 0);
    const split = limitSplit(dataset[flags.split], dataset.inputShape, limit, '--limit');
    const result = await evaluateModel(src.model, split, dataset.inputShape, {
      batchSize: flags.batchSize,
    });
    const quantized = src.config ? await inspectQuantized(src.config, src.model) : [];
    const levelsOk = quantized.every((q) => q.maxDistinctPerGroup <= q.maxLevels);
    if (flags.json) {
      const out = {
        source: src.path,
        data: spec,
        split: flags.split,
        samples: result.samples,
        accuracy: result.accuracy,
        loss: result.loss,
        backend,
        quantized: quantized.map(({ name, maxDistinctPerGroup, maxLevels }) => ({
          name,
          maxDistinctPerGroup,
          maxLevels,
        })),
        levelsOk,
      };
      process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
    } else if (flags.quiet) {
      process.stdout.write(`${result.accuracy}\n`);
    } else {
      const correct = Math.round(result.accuracy * result.samples);
      process.stdout.write(
        `${src.description}\n` +
          `${spec} ${flags.split} split: accuracy ${percent(result.accuracy)} (${correct}/${result.samples}), ` +
          `loss ${result.loss.toFixed(4)} · backend ${backend}\n`,
      );
      if (quantized.length > 0) {
        const each = quantized.map((q) => `${q.name} ${q.maxDistinctPerGroup}`).join(', ');
        process.stdout.write(
          `levels per group (at most ${quantized[0].maxLevels}): ${each} ${levelsOk ? '(ok)' : '(TOO MANY: not a quantized model)'}\n`,
        );
      }
    }
    return 0;
  } finally {
    src.model.dispose();
  }
}
