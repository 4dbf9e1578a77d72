/**
 * `parq import CHECKPOINT.safetensors --model NAME --out FILE`: a PyTorch (or torchao) state dict
 * of a zoo model -> the packed low-bit file, or a tfjs model folder (`--format tfjs`).
 *
 * The quantized kernels are recognized from the checkpoint (see src/import/checkpoint.ts) and packed
 * with their levels; nothing is written unless the import succeeds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command, Option } from 'commander';
import { describeBits } from '../export/format.js';
import { writeQuantizedFile } from '../export/node-io.js';
import { describePacked, formatPackedDescription } from '../export/reader.js';
import { exportTfjs } from '../export/tfjs-format.js';
import { exportQuantized } from '../export/writer.js';
import { importCheckpoint, importedExportOptions, IMPORT_MODELS } from '../import/checkpoint.js';
import { fileSaveHandler } from '../models/file-io.js';
import { BACKEND_NAMES, useBackend } from './backend-option.js';
import { intArg, listArg } from './options.js';

export interface ImportFlags {
  model: string;
  out: string;
  format: 'packed' | 'tfjs';
  hidden?: number[];
  inputShape?: number[];
  heads?: number;
  float16?: boolean;
  backend: string;
  quiet?: boolean;
  overwrite?: boolean;
}

/** Registers `parq import` on `program`. */
export function registerImportCommand(program: Command): Command {
  return program
    .command('import')
    .description('a PyTorch / torchao safetensors checkpoint of a zoo model -> packed file or tfjs')
    .argument('<checkpoint>', 'a .safetensors state dict, in PyTorch naming (see docs/import.md)')
    .addOption(
      new Option('--model <name>', 'the architecture')
        .choices([...IMPORT_MODELS])
        .makeOptionMandatory(),
    )
    .requiredOption('--out <path>', 'the file to write (a folder for --format tfjs)')
    .addOption(
      new Option('--format <name>', 'packed: the parq low-bit file; tfjs: model.json + weights.bin')
        .choices(['packed', 'tfjs'])
        .default('packed'),
    )
    .addOption(
      new Option(
        '--hidden <sizes>',
        'mlp: hidden sizes (checked; read from the checkpoint if left out)',
      ).argParser(listArg(intArg(1), 'positive integers')),
    )
    .addOption(
      new Option(
        '--input-shape <dims>',
        'one sample: F, or H,W,C (default: from the model)',
      ).argParser((v: string) => v.split(',').map((d) => intArg(1)(d))),
    )
    .addOption(
      new Option(
        '--heads <n>',
        'vit-tiny: attention heads, which the tensors do not tell (default 4)',
      ).argParser(intArg(1)),
    )
    .option('--float16', 'store the float tensors (biases, ...) as float16')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default('cpu'))
    .option('--overwrite', 'replace a file (or tfjs model folder) already at --out')
    .option('-q, --quiet', 'print nothing on success')
    .action(async (checkpoint: string, flags: ImportFlags) => {
      await importCommand(checkpoint, flags);
    });
}

/** Runs `parq import`; throws a one-line error, having written nothing, when it cannot. */
export async function importCommand(checkpoint: string, flags: ImportFlags): Promise<void> {
  const target = flags.format === 'tfjs' ? join(flags.out, 'model.json') : flags.out;
  if (existsSync(target) && !flags.overwrite) {
    throw new Error(`${target} already exists: --overwrite replaces it`);
  }
  await useBackend(flags.backend);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(checkpoint);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      `${checkpoint}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code})`}`,
      { cause: e },
    );
  }
  let imported;
  try {
    imported = importCheckpoint(bytes, {
      model: flags.model,
      hidden: flags.hidden,
      inputShape: flags.inputShape,
      heads: flags.heads,
    });
  } catch (e) {
    throw new Error(`${checkpoint}: ${(e as Error).message.replace(/^import: /, '')}`, {
      cause: e,
    });
  }
  const { model } = imported;
  const log = (s: string) => {
    if (!flags.quiet) console.log(s);
  };
  const floatDtype = flags.float16 ? 'float16' : 'float32';
  const options = importedExportOptions(imported);
  try {
    log(
      `read ${checkpoint} (${imported.layout} layout): ${imported.used.length} tensors` +
        (imported.ignored.length
          ? `, ${imported.ignored.length} ignored (num_batches_tracked)`
          : ''),
    );
    for (const [name, q] of Object.entries(imported.quantized)) {
      const g = q.granularity;
      const how = g.kind === 'block' ? `per block of ${g.blockSize}` : `per ${g.kind}`;
      log(`  ${name}: ${describeBits(q.bits)} ${how} (${q.source})`);
    }
    if (flags.format === 'tfjs') {
      const { artifacts, tensors } = await exportTfjs(model, undefined, { ...options, floatDtype });
      await fileSaveHandler(flags.out).save?.(artifacts);
      const size = tensors.reduce((a, t) => a + t.bytes, 0);
      log(`wrote ${join(flags.out, 'model.json')} + weights.bin (${size} bytes of weights)`);
      return;
    }
    const packed = await exportQuantized(model, undefined, {
      ...options,
      floatDtype,
      metadata: {
        source: 'import',
        checkpoint: basename(checkpoint),
        layout: imported.layout,
        model: flags.model,
        quantized: imported.quantized,
      },
    });
    writeQuantizedFile(flags.out, packed);
    log(`wrote ${flags.out}`);
    log(formatPackedDescription(await describePacked(packed)));
  } finally {
    model.dispose();
  }
}
