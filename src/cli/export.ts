/**
 * `parq export SOURCE --out FILE`: pack a trained model into the low-bit file (or the tfjs
 * layers format, with uint8 weights where the levels are uniform).
 *
 * SOURCE is a training checkpoint (a run folder or its checkpoint/ folder), or a tfjs
 * model.json / folder holding one. From a checkpoint, the run's QAT optimizer is restored from
 * its state: its quantized entries say which weights are quantized and how (bits,
 * granularity), and its levels are the ones packed. A model file has no optimizer state: pass
 * --bits (and --per-channel / --block-size when it was trained that way), and the levels are
 * recovered from the distinct values of each Dense/Conv kernel, which must hold at most
 * 2^bits of them (3 for ternary) per group. The output says which path was taken. Nothing is
 * written unless the export succeeds; the file itself is written to a temporary name and
 * renamed into place.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type * as tf from '@tensorflow/tfjs';
import { describePacked, formatPackedDescription } from '../export/reader.js';
import { exportTfjs } from '../export/tfjs-format.js';
import { exportOnnx } from '../export/onnx.js';
import { exportQuantized } from '../export/writer.js';
import { isPackedFile, writeQuantizedFile } from '../export/node-io.js';
import { describeBits } from '../export/format.js';
import { fileSaveHandler } from '../models/file-io.js';
import { loadModelFromFile } from '../models/load.js';
import type { Granularity } from '../quant/grouping.js';
import type { QATOptimizer } from '../optim/qat-optimizer.js';
import { disposeOptimizer } from '../train/build.js';
import {
  CHECKPOINT_DIR,
  findCheckpoint,
  readCheckpoint,
  readCheckpointState,
  STATE_JSON,
} from '../train/checkpoint-files.js';
import { checkpointQatOptimizer } from '../train/checkpoint-optimizer.js';
import { formatLayerBits, resolveLayerBits, type LayerBits } from '../train/layer-bits.js';
import { BACKEND_NAMES, useBackend } from './backend-option.js';
import { granularityFromFlags, intArg, parseBits } from './options.js';

export interface ExportFlags {
  out: string;
  format: 'packed' | 'tfjs' | 'onnx';
  float16?: boolean;
  bits?: number;
  perChannel?: boolean;
  blockSize?: number;
  ternaryPacking: 'trits' | 'bits';
  backend: string;
  overwrite?: boolean;
  quiet?: boolean;
}

/** Registers `parq export` on `program`. */
export function registerExportCommand(program: Command): Command {
  return program
    .command('export')
    .description('pack a trained model into a low-bit file (or tfjs format with uint8 weights)')
    .argument('<source>', 'a training checkpoint (run folder), or a tfjs model.json or its folder')
    .requiredOption('--out <path>', 'the file to write (a folder for --format tfjs)')
    .addOption(
      new Option(
        '--format <name>',
        'packed: the parq low-bit file; tfjs: model.json + weights.bin; onnx: ONNX with MatMulNBits',
      )
        .choices(['packed', 'tfjs', 'onnx'])
        .default('packed'),
    )
    .option('--float16', 'store the float tensors (biases, ...) as float16')
    .addOption(
      new Option(
        '--bits <n>',
        'model files: bits of the Dense/Conv kernels, 1..8 or ternary',
      ).argParser(parseBits),
    )
    .option('--per-channel', 'model files: kernels were quantized per output channel')
    .addOption(
      new Option(
        '--block-size <n>',
        'model files: kernels were quantized per block of n',
      ).argParser(intArg(1)),
    )
    .addOption(
      new Option(
        '--ternary-packing <how>',
        'ternary indices: trits (5 a byte) or bits (2 bits each)',
      )
        .choices(['trits', 'bits'])
        .default('trits'),
    )
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default('cpu'))
    .option('--overwrite', 'replace a file (or tfjs model folder) already at --out')
    .option('-q, --quiet', 'print nothing on success')
    .action(async (source: string, flags: ExportFlags) => {
      await exportCommand(source, flags);
    });
}

/** Where the levels come from: the checkpoint's optimizer, or (a model file) the weights. */
export const LEVELS_FROM_OPTIMIZER = "the checkpoint's optimizer state";
export const LEVELS_FROM_VALUES =
  "each group's distinct values (a model file has no optimizer state)";

interface Opened {
  model: tf.LayersModel;
  /** The QAT optimizer restored from a checkpoint: it gives the quantized weights and levels. */
  optimizer: QATOptimizer | null;
  /** Without an optimizer: which weights are quantized, and how. */
  bits?: number;
  granularity?: Granularity;
  metadata: Record<string, unknown>;
}

/** Runs `parq export`; throws a one-line error, having written nothing, when it cannot. */
export async function exportCommand(source: string, flags: ExportFlags): Promise<void> {
  const target = flags.format === 'tfjs' ? join(flags.out, 'model.json') : flags.out;
  if (existsSync(target) && !flags.overwrite) {
    throw new Error(`${target} already exists: --overwrite replaces it`);
  }
  await useBackend(flags.backend);
  const { model, optimizer, bits, granularity, metadata } = await openSource(source, flags);
  const floatDtype = flags.float16 ? 'float16' : 'float32';
  const log = (s: string) => {
    if (!flags.quiet) console.log(s);
  };
  // With the optimizer, it says which weights are quantized and how; else the flags do.
  const state = optimizer ?? undefined;
  const plan = optimizer ? {} : { bits, granularity };
  try {
    if (optimizer) {
      const n = optimizer.quantizedEntries.length;
      log(
        `levels: from ${LEVELS_FROM_OPTIMIZER} (${optimizer.getClassName()}, ${n} quantized tensor${n === 1 ? '' : 's'})`,
      );
    } else log(`levels: recovered from ${LEVELS_FROM_VALUES}`);
    if (flags.format === 'tfjs') {
      const { artifacts, tensors } = await exportTfjs(model, state, { ...plan, floatDtype });
      await fileSaveHandler(flags.out).save?.(artifacts);
      const bytes = tensors.reduce((a, t) => a + t.bytes, 0);
      log(`wrote ${join(flags.out, 'model.json')} + weights.bin (${bytes} bytes of weights)`);
      for (const t of tensors) {
        const err = t.maxAbsError === 0 ? 'exact' : `max |error| ${t.maxAbsError.toExponential(2)}`;
        log(`  ${t.name} [${t.shape.join(', ')}]: ${t.encoding}, ${t.bytes} bytes, ${err}`);
      }
      return;
    }
    if (flags.format === 'onnx') {
      const { bytes, tensors } = await exportOnnx(model, state, {
        ...plan,
        metadata: onnxMetadata(metadata, model),
      });
      writeQuantizedFile(flags.out, bytes);
      log(`wrote ${flags.out} (${bytes.length} bytes)`);
      for (const t of tensors) {
        const levels =
          t.levelBits !== undefined && t.levelBits !== t.bits
            ? ` (${describeBits(t.levelBits)} levels)`
            : '';
        const how =
          t.encoding === 'MatMulNBits'
            ? `MatMulNBits ${t.bits} bits${levels}, block ${t.blockSize}`
            : t.encoding === 'gather'
              ? `gather, ${describeBits(t.bits as number)}`
              : t.encoding;
        log(`  ${t.name}: ${how}, ${t.bytes} bytes`);
      }
      return;
    }
    const bytes = await exportQuantized(model, state, {
      ...plan,
      floatDtype,
      ternaryPacking: flags.ternaryPacking,
      metadata,
    });
    writeQuantizedFile(flags.out, bytes);
    log(`wrote ${flags.out}`);
    log(formatPackedDescription(await describePacked(bytes)));
  } finally {
    if (optimizer) disposeOptimizer(optimizer);
    model.dispose();
  }
}

function isCheckpoint(path: string): boolean {
  if (!statSync(path).isDirectory()) return false;
  return [path, join(path, CHECKPOINT_DIR), join(path, `${CHECKPOINT_DIR}.old`)].some((d) =>
    existsSync(join(d, STATE_JSON)),
  );
}

async function openSource(source: string, flags: ExportFlags): Promise<Opened> {
  if (!existsSync(source)) throw new Error(`${source}: no such file or folder`);
  const flagGranularity =
    flags.perChannel || flags.blockSize !== undefined ? granularityFromFlags(flags) : undefined;
  if (!isCheckpoint(source)) {
    if (isPackedFile(source)) {
      throw new Error(
        `${source}: already a packed file (parq export reads a checkpoint or a tfjs model.json)`,
      );
    }
    if (flags.bits === undefined) {
      throw new Error(
        `${source}: a model file does not say how it was quantized: pass --bits ` +
          '(and --per-channel or --block-size if it was)',
      );
    }
    const model = await loadModelFromFile(source);
    return {
      model,
      optimizer: null,
      bits: flags.bits,
      granularity: flagGranularity ?? { kind: 'tensor' },
      metadata: { source: 'model file', levelsFrom: 'distinct values' },
    };
  }
  const dir = findCheckpoint(source);
  const state = readCheckpointState(dir);
  const c = state.config;
  if (c.method === 'fp') {
    throw new Error(`${dir}: a float (fp) run quantized nothing: there are no levels to pack`);
  }
  if (c.layerBits?.length && flags.bits !== undefined) {
    throw new Error(
      `${dir}: the run trained with --layer-bits ${formatLayerBits(c.layerBits)}; ` +
        'leave --bits out for a checkpoint',
    );
  }
  if (!c.layerBits?.length && flags.bits !== undefined && flags.bits !== c.bits) {
    throw new Error(
      `${dir}: the run trained at ${describeBits(c.bits)}; --bits ${flags.bits} contradicts it ` +
        '(leave --bits out for a checkpoint)',
    );
  }
  if (flagGranularity && JSON.stringify(flagGranularity) !== JSON.stringify(c.granularity)) {
    throw new Error(
      `${dir}: the run's granularity is ${JSON.stringify(c.granularity)}; leave --per-channel / ` +
        '--block-size out for a checkpoint',
    );
  }
  const ckpt = await readCheckpoint(dir);
  let optimizer: QATOptimizer | null;
  try {
    optimizer = await checkpointQatOptimizer(ckpt.model, ckpt.state, ckpt.optimizerData);
  } catch (err) {
    ckpt.model.dispose();
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`${dir}: cannot restore the run's optimizer state (${why})`, { cause: err });
  }
  if (!optimizer) {
    ckpt.model.dispose();
    throw new Error(
      `${dir}: the run's method ${c.method} has no QAT optimizer to take levels from`,
    );
  }
  const metadata: Record<string, unknown> = {
    source: 'checkpoint',
    levelsFrom: 'optimizer state',
    config: c,
    epoch: state.epoch,
    step: state.step,
  };
  const final = state.metrics?.final;
  if (final) metadata.testAccuracy = final.testAccuracy;
  return { model: ckpt.model, optimizer, metadata };
}

/** The ONNX file's metadata_props: where it came from, and with mixed precision the bits. */
function onnxMetadata(
  metadata: Record<string, unknown>,
  model: tf.LayersModel,
): Record<string, string> {
  const out: Record<string, string> = { producer: 'parq-ts', source: String(metadata.source) };
  const layerBits = (metadata.config as { layerBits?: LayerBits } | undefined)?.layerBits;
  if (layerBits?.length) {
    out.layer_bits = formatLayerBits(layerBits);
    const names = model.weights.map((w) => w.originalName);
    out.bits = JSON.stringify(Object.fromEntries(resolveLayerBits(layerBits, names)));
  }
  return out;
}
