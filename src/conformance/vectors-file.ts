/**
 * The shape of a parq-conformance/1 file (shared/conformance/FORMAT.md), checked before any case
 * runs: every field a case kind reads is present, typed and bounded.
 */
import {
  array,
  ConformanceFileError,
  finite,
  int,
  isObject,
  MAX_STEPS,
  object,
  oneOf,
  optionalBoolean,
  string,
  tensor,
  Where,
} from './validate.js';
import { proxMapClassNames } from '../prox/registry.js';
import { quantizerClassNames } from '../quant/registry.js';

export const VECTORS_FORMAT = 'parq-conformance/1';

const KINDS = ['quantize', 'prox', 'schedule', 'optimizer'] as const;
const QUANTIZERS = quantizerClassNames();
const PROX_MAPS = proxMapClassNames();

function options(v: unknown, w: Where): void {
  if (v !== undefined) object(v, w);
}

function checkCase(c: unknown, index: number): void {
  const at = new Where(`case ${index}`);
  const o = object(c, at);
  const kind = oneOf(o.kind, KINDS, at.at('kind'));
  const w = new Where(`case ${index} (${kind})`);
  const expect = kind === 'schedule' ? undefined : object(o.expect, w.at('expect'));
  switch (kind) {
    case 'quantize': {
      oneOf(o.quantizer, QUANTIZERS, w.at('quantizer'));
      options(o.options, w.at('options'));
      int(o.bits, w.at('bits'), 0, 8);
      optionalBoolean(o.per_channel, w.at('per_channel'));
      const input = tensor(o.input, w.at('input'));
      tensor(expect?.q, w.at('expect').at('q'), input.shape);
      tensor(expect?.Q, w.at('expect').at('Q'));
      break;
    }
    case 'prox': {
      oneOf(o.prox, PROX_MAPS, w.at('prox'));
      options(o.options, w.at('options'));
      int(o.step, w.at('step'), 0, Number.MAX_SAFE_INTEGER);
      optionalBoolean(o.per_channel, w.at('per_channel'));
      const input = tensor(o.input, w.at('input'));
      tensor(o.Q, w.at('Q'));
      tensor(expect?.p, w.at('expect').at('p'), input.shape);
      if (expect?.inv_slope !== undefined) finite(expect.inv_slope, w.at('expect').at('inv_slope'));
      break;
    }
    case 'schedule':
      for (const k of ['t', 't1', 't2', 'steepness', 'center', 'expect']) finite(o[k], w.at(k));
      break;
    case 'optimizer': {
      const w0 = tensor(o.w0, w.at('w0'));
      const bias0 = tensor(o.bias0, w.at('bias0'));
      tensor(o.target, w.at('target'), w0.shape);
      const base = object(o.base, w.at('base'));
      if (base.name !== 'sgd')
        w.at('base')
          .at('name')
          .fail(`expected "sgd", got ${JSON.stringify(base.name)}`);
      finite(base.lr, w.at('base').at('lr'));
      if (base.momentum !== undefined) finite(base.momentum, w.at('base').at('momentum'));
      oneOf(o.quantizer, QUANTIZERS, w.at('quantizer'));
      options(o.quantizer_options, w.at('quantizer_options'));
      oneOf(o.prox, PROX_MAPS, w.at('prox'));
      options(o.prox_options, w.at('prox_options'));
      int(o.bits, w.at('bits'), 0, 8);
      optionalBoolean(o.per_channel, w.at('per_channel'));
      if (o.warmup_steps !== undefined) int(o.warmup_steps, w.at('warmup_steps'), 0, MAX_STEPS);
      if (o.quant_period !== undefined) int(o.quant_period, w.at('quant_period'), 1, MAX_STEPS);
      int(o.steps, w.at('steps'), 1, MAX_STEPS);
      const e = expect as Record<string, unknown>;
      tensor(e.w, w.at('expect').at('w'), w0.shape);
      tensor(e.latent, w.at('expect').at('latent'), w0.shape);
      tensor(e.bias, w.at('expect').at('bias'), bias0.shape);
      break;
    }
  }
}

/** Throws a ConformanceFileError naming the first malformed case and field. */
export function checkVectorsFile(file: unknown): void {
  const top: Where = new Where('conformance file');
  if (!isObject(file)) top.fail('not a conformance file: expected a JSON object');
  if (!Array.isArray(file.cases))
    throw new ConformanceFileError('not a conformance file: no "cases" array');
  if (file.format !== VECTORS_FORMAT) {
    top
      .at('format')
      .fail(`unsupported format ${JSON.stringify(file.format)} (expected ${VECTORS_FORMAT})`);
  }
  if (file.source !== undefined) string(file.source, top.at('source'));
  array(file.cases, top.at('cases'), 1, 1_000_000).forEach(checkCase);
}
