/**
 * Run conformance cases (shared/conformance/FORMAT.md) through the public API.
 * Each case kind maps onto the library calls a user makes: quantizeTensor,
 * proxTensor, normalizedMirrorSigmoid, and QuantOptimizer.applyGradients.
 */
import * as tf from '@tensorflow/tfjs';
import { Granularity } from '../quant/grouping.js';
import { quantizeTensor } from '../quant/functional.js';
import { quantizerFromConfig } from '../quant/registry.js';
import { Quantizer } from '../quant/quantizer.js';
import { proxTensor } from '../prox/functional.js';
import { proxMapFromConfig } from '../prox/registry.js';
import { ProxMap } from '../prox/proxmap.js';
import { normalizedMirrorSigmoid } from '../prox/schedules.js';
import { QuantOptimizer } from '../optim/quant-optimizer.js';
import { levelsAgree, scalarAgrees, tensorAgrees, TensorJson } from './compare.js';

export interface ConformanceFile {
  format: string;
  source?: string;
  cases: any[];
}

/**
 * `reference`: reproduce the PyTorch reference where it departs from the
 * mathematics (per-tensor optimal ternary levels, asymmetric level sets);
 * `exact`: the library's defaults; `auto`: `reference` for files whose
 * `source` says the reference computed them.
 */
export type CompatMode = 'auto' | 'reference' | 'exact';

export interface CaseResult {
  index: number;
  kind: string;
  label: string;
  passed: boolean;
  detail?: string;
}

const snakeToCamel = (s: string): string =>
  s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function camelOptions(o: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o ?? {})) out[snakeToCamel(k)] = v;
  return out;
}

function makeQuantizer(name: string, options: Record<string, unknown>, compat: boolean): Quantizer {
  return quantizerFromConfig({
    className: name,
    config: { ...camelOptions(options), ...(compat ? { referenceCompat: true } : {}) },
  });
}

function makeProx(name: string, options: Record<string, unknown>): ProxMap {
  return proxMapFromConfig({ className: name, config: camelOptions(options) });
}

/** Per channel in the vectors means one level set per row of `[shape[0], rest]`. */
function granularity(perChannel: boolean): Granularity {
  return perChannel ? { kind: 'channel', axis: 0 } : { kind: 'tensor' };
}

const toTensor = (t: TensorJson): tf.Tensor => tf.tensor(t.data, t.shape, 'float32');

function label(c: any): string {
  const name = c.quantizer ?? c.prox ?? c.schedule ?? '';
  const extra = c.kind === 'optimizer' ? `${c.quantizer}+${c.prox}` : name;
  const pc = c.per_channel ? ' per-channel' : '';
  return `${c.kind} ${extra}${c.bits !== undefined ? ` bits=${c.bits}` : ''}${pc}`;
}

/** Reads asynchronously: webgpu in Node cannot read a GPU tensor synchronously. */
async function check(
  failures: string[],
  what: string,
  actual: tf.Tensor,
  expected: TensorJson,
  f: number,
): Promise<void> {
  const a = await actual.data();
  if (!tensorAgrees(a, expected.data, f)) failures.push(what);
}

async function runQuantize(c: any, compat: boolean, failures: string[]): Promise<void> {
  const quantizer = makeQuantizer(c.quantizer, c.options, compat);
  const { q, levels } = tf.tidy(() =>
    quantizeTensor(quantizer, toTensor(c.input), c.bits, granularity(c.per_channel)),
  );
  try {
    await check(failures, 'q', q, c.expect.q, 0.01);
    if (!levelsAgree(await levels.data(), c.expect.Q)) failures.push('Q');
  } finally {
    tf.dispose([q, levels]);
  }
}

async function runProx(c: any, failures: string[]): Promise<void> {
  const prox = makeProx(c.prox, c.options);
  const p = tf.tidy(() =>
    proxTensor(prox, toTensor(c.input), toTensor(c.Q), c.step, granularity(c.per_channel)),
  );
  try {
    await check(failures, 'p', p, c.expect.p, 0.01);
  } finally {
    p.dispose();
  }
  if (c.expect.inv_slope !== undefined) {
    const inv = prox.inverseSlope(c.step) ?? NaN;
    if (!scalarAgrees(inv, c.expect.inv_slope)) failures.push(`inv_slope ${inv}`);
  }
}

function runSchedule(c: any, failures: string[]): void {
  const v = normalizedMirrorSigmoid(c.t, c.t1, c.t2, c.steepness, c.center);
  if (!scalarAgrees(v, c.expect)) failures.push(`value ${v}`);
}

let optimizerCase = 0;

async function runOptimizer(c: any, compat: boolean, failures: string[]): Promise<void> {
  const id = optimizerCase++;
  const w = tf.variable(toTensor(c.w0), true, `conformance_${id}/w`);
  const bias = tf.variable(toTensor(c.bias0), true, `conformance_${id}/bias`);
  const target = toTensor(c.target);
  if (c.base.name !== 'sgd') throw new Error(`unsupported base optimizer '${c.base.name}'`);
  const base = c.base.momentum
    ? tf.train.momentum(c.base.lr, c.base.momentum)
    : tf.train.sgd(c.base.lr);
  const opt = new QuantOptimizer({
    base,
    quantizer: makeQuantizer(c.quantizer, c.quantizer_options, compat),
    prox: makeProx(c.prox, c.prox_options),
    groups: [{ variables: [w], bits: c.bits, granularity: granularity(c.per_channel) }],
    warmupSteps: c.warmup_steps,
    quantPeriod: c.quant_period,
  });
  try {
    for (let s = 0; s < c.steps; s++) {
      const grads = tf.tidy(() => ({
        [w.name]: tf.sub(w, target),
        [bias.name]: tf.sub(bias, 0.3),
      }));
      opt.applyGradients(grads);
      tf.dispose(grads);
    }
    await check(failures, 'w', w, c.expect.w, 0.05);
    await check(failures, 'bias', bias, c.expect.bias, 0.05);
    const latent = opt.getLatent(w);
    if (!latent) failures.push('latent (none)');
    else await check(failures, 'latent', latent, c.expect.latent, 0.05);
  } finally {
    opt.dispose();
    tf.dispose([w, bias, target]);
  }
}

/** Run every case of a conformance file; never throws for a failing case. */
export async function runConformance(
  file: ConformanceFile,
  mode: CompatMode = 'auto',
): Promise<CaseResult[]> {
  if (!file || !Array.isArray(file.cases))
    throw new Error('not a conformance file: no "cases" array');
  if (file.format !== 'parq-conformance/1') {
    throw new Error(
      `unsupported conformance format '${file.format}' (expected parq-conformance/1)`,
    );
  }
  const compat =
    mode === 'reference' || (mode === 'auto' && /PyTorch reference/i.test(file.source ?? ''));
  const results: CaseResult[] = [];
  for (const [index, c] of file.cases.entries()) {
    const failures: string[] = [];
    try {
      switch (c.kind) {
        case 'quantize':
          await runQuantize(c, compat, failures);
          break;
        case 'prox':
          await runProx(c, failures);
          break;
        case 'schedule':
          runSchedule(c, failures);
          break;
        case 'optimizer':
          await runOptimizer(c, compat, failures);
          break;
        default:
          failures.push(`unknown kind '${c.kind}'`);
      }
    } catch (e) {
      failures.push(`error: ${e instanceof Error ? e.message : String(e)}`);
    }
    results.push({
      index,
      kind: String(c.kind),
      label: label(c),
      passed: failures.length === 0,
      detail: failures.length ? failures.join(', ') : undefined,
    });
  }
  return results;
}

export function usesReferenceCompat(file: ConformanceFile, mode: CompatMode): boolean {
  return mode === 'reference' || (mode === 'auto' && /PyTorch reference/i.test(file.source ?? ''));
}
