/** `parq info CHECKPOINT`: architecture, quantized tensors, bits, levels, size. */
import type * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { formatPackedDescription } from '../export/reader.js';
import { describeGranularity, describeMethod } from '../train/config.js';
import { estimatePackedBytes, inspectQuantized } from '../train/inspect.js';
import type { QuantizedTensorInfo } from '../train/metrics.js';
import { useBackend } from './backend-option.js';
import { openModelSource, type ModelSource } from './model-source.js';
import type { TrainConfig } from '../train/config.js';
import { formatBytes, grouped } from '../util/text-format.js';
import { percent, textTable } from './text-table.js';

export function registerInfo(program: Command, setCode: (code: number) => void): void {
  program
    .command('info')
    .description('describe a checkpoint: architecture, quantized tensors, bits, levels, size')
    .argument('<checkpoint>', 'a run output folder, or its checkpoint/ folder')
    .option('--json', 'print the description as JSON')
    .action(async (path: string, flags: { json?: boolean }) => {
      setCode(await infoCommand(path, flags));
    });
}

interface LayerRow {
  name: string;
  type: string;
  outputShape: (number | null)[];
  params: number;
}

export async function infoCommand(path: string, flags: { json?: boolean }): Promise<number> {
  await useBackend('wasm');
  const src = await openModelSource(path);
  try {
    const model = src.model;
    const layers: LayerRow[] = model.layers.map((l) => ({
      name: l.name,
      type: l.getClassName(),
      outputShape: (Array.isArray(l.outputShape[0]) ? l.outputShape[0] : l.outputShape) as (
        number | null
      )[],
      params: l.countParams(),
    }));
    const quantized = src.config ? await inspectQuantized(src.config, model) : [];
    const size = estimatePackedBytes(model, quantized);
    const params = model.countParams();
    const trainable = model.trainableWeights.reduce(
      (a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1),
      0,
    );
    if (flags.json) {
      const out = {
        source: src.path,
        kind: src.kind,
        config: src.config,
        epoch: src.checkpoint?.epoch,
        status: src.metrics?.status,
        finalTestAccuracy: src.metrics?.final?.testAccuracy,
        model: { name: model.name, className: model.getClassName(), params, trainable, layers },
        quantized,
        bytes: size,
      };
      process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
      return 0;
    }
    const lines: string[] = [src.description];
    if (src.packed) lines.push(formatPackedDescription(src.packed));
    if (src.config) {
      const c = src.config;
      lines.push(
        `run: ${describeMethod(c)} ${c.method === 'fp' ? '' : `${describeGranularity(c.granularity)} `}· ${c.model} on ${c.data} · ` +
          runStatus(src, c),
      );
    }
    lines.push('');
    lines.push(
      `model ${model.name} (${model.getClassName()}): input [${inputShape(model)}], ${grouped(params)} parameters (${grouped(trainable)} trainable)`,
    );
    lines.push(
      textTable(
        ['layer', 'type', 'output shape', 'params'],
        layers.map((l) => [
          l.name,
          l.type,
          `[${l.outputShape.slice(1).join(', ')}]`,
          grouped(l.params),
        ]),
        [false, false, false, true],
      ),
    );
    if (quantized.length > 0) {
      lines.push('');
      lines.push(`quantized tensors: ${quantized.length}`);
      lines.push(quantizedTable(quantized));
    } else if (src.config?.method === 'fp') {
      lines.push('', 'quantized tensors: none (a float run)');
    }
    lines.push('');
    const packedBytes = src.packed?.byteLength;
    lines.push(
      `size: ${formatBytes(size.float32)} as float32` +
        (packedBytes !== undefined
          ? `; ${formatBytes(packedBytes)} this packed file (${(size.float32 / packedBytes).toFixed(1)}x smaller)`
          : quantized.length > 0
            ? `; about ${formatBytes(size.packed)} with the quantized kernels packed (${(size.float32 / size.packed).toFixed(1)}x smaller, estimate)`
            : ''),
    );
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    src.model.dispose();
  }
}

function quantizedTable(qs: QuantizedTensorInfo[]): string {
  return textTable(
    ['tensor', 'shape', 'bits', 'groups', 'distinct', 'most per group', 'levels'],
    qs.map((q) => [
      q.name,
      `[${q.shape.join(', ')}]`,
      q.bits === 0 ? 'ternary' : String(q.bits),
      String(q.groups),
      String(q.distinct),
      `${q.maxDistinctPerGroup} of ${q.maxLevels}`,
      q.levels?.length === 1
        ? q.levels[0].map((v) => Number(v.toPrecision(4))).join(', ')
        : q.levels
          ? `${q.levels.length} groups`
          : '-',
    ]),
    [false, false, true, true, true, true, false],
  );
}

function inputShape(model: tf.LayersModel): string {
  return model.inputs[0].shape.slice(1).join(', ');
}

/** The run's status: from its metrics (a checkpoint), or what a packed file's metadata says. */
function runStatus(src: ModelSource, c: TrainConfig): string {
  if (src.metrics) {
    const acc = src.metrics.final
      ? ` · final test accuracy ${percent(src.metrics.final.testAccuracy)}`
      : '';
    return `${src.metrics.status}${acc}`;
  }
  const md = src.packed?.metadata;
  if (md && typeof md.epoch === 'number') {
    const acc =
      typeof md.testAccuracy === 'number' ? ` · test accuracy ${percent(md.testAccuracy)}` : '';
    return `exported at epoch ${md.epoch} of ${c.epochs}${acc}`;
  }
  return 'status not recorded';
}
