/**
 * The panel's controls and the run configuration they mean. A run is a `TrainConfig` of
 * src/train (the CLI's `parq train` options), so the playground trains with the same defaults,
 * optimizers and schedules as the CLI: protocol mlp-mnist10k unless a control changes it.
 */
import {
  bitsLabel,
  DEFAULT_TRAIN_CONFIG as D,
  resolveTrainConfig,
  trainField,
  type MethodName,
  type TrainFieldKey,
  type TrainConfig,
} from '../../src/train/config.js';
import { METHOD_NAMES, METHODS as TABLE, methodsReading } from '../../src/train/methods.js';
import { QUANTIZER_NAMES, type QuantizerName } from '../../src/quant/registry.js';

export { QUANTIZER_NAMES };
export const METHODS = METHOD_NAMES;
export type Method = MethodName;

/** The method table's labels and help (the menu and its tooltips). */
export const METHOD_LABELS = Object.fromEntries(TABLE.map((m) => [m.name, m.label])) as Record<
  Method,
  string
>;
export const METHOD_HELP = Object.fromEntries(TABLE.map((m) => [m.name, m.help])) as Record<
  Method,
  string
>;

/** Does the control of config field `field` mean something for `method` (the method table)? */
export function controlApplies(field: string, method: Method): boolean {
  const methods = methodsReading(field);
  return methods === null || methods.includes(method);
}

/** An attribute value with the HTML-special characters escaped. */
const attrText = (v: string): string =>
  v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The number input of config field `key`, from its schema entry (src/train/config.ts): the
 * `web` control's label, range and step (1 for an integer field without one), and the field's
 * help as the tooltip, prefixed by the methods that read it where only some do.
 */
export function numberControl(key: TrainFieldKey): string {
  const field = trainField(key);
  const web = field.web;
  if (!web) throw new Error(`config field '${key}' has no playground control (no 'web' entry)`);
  const step = web.step ?? (field.kind === 'int' ? 1 : 'any');
  const range = (name: string, v: number | string | undefined) =>
    v === undefined ? '' : ` ${name}="${v}"`;
  const readers = methodsReading(key);
  const who = readers ? `${readers.map((m) => METHOD_LABELS[m]).join(', ')}: ` : '';
  return (
    `<label title="${attrText(who + field.help)}">${attrText(web.label)} ` +
    `<input type="number" name="${key}"${range('min', web.min)}${range('max', web.max)}` +
    `${range('step', step)}></label>`
  );
}

/** 0 is ternary (three levels). */
export const BITS = [0, 1, 2, 3, 4] as const;

/** What a panel's controls hold. */
export interface Controls {
  method: Method;
  quantizer: QuantizerName;
  /** 1..4, 0 = ternary. */
  bits: number;
  perChannel: boolean;
  epochs: number;
  lr: number;
  /** PARQ's sigmoid steepness. */
  steepness: number;
  /** ADMM-Q's penalty in the first and in the last epoch (geometric growth between). */
  rho: number;
  rhoMax: number;
}

/** The library's defaults (src/train/config.ts), but 3 epochs: a playground run is short. */
export const DEFAULT_CONTROLS: Controls = {
  method: D.method,
  quantizer: D.quantizer,
  bits: D.bits,
  perChannel: D.granularity.kind === 'channel',
  epochs: 3,
  lr: D.lr,
  steepness: D.steepness,
  rho: D.rho,
  rhoMax: D.rhoMax,
};

/**
 * The run's config: the library's defaults with the controls applied. `limitTrain` > 0 trains
 * on a fixed random subset (as `parq train --limit-train`). Throws a one-line ConfigError
 * naming the bad field.
 */
export function toTrainConfig(c: Controls, limitTrain = 0): TrainConfig {
  if (!Number.isInteger(c.epochs) || c.epochs < 1 || c.epochs > 100) {
    throw new Error(`epochs must be an integer in 1..100, got ${c.epochs}`);
  }
  return resolveTrainConfig({
    method: c.method,
    quantizer: c.quantizer,
    bits: c.bits,
    granularity: c.perChannel ? { kind: 'channel' } : { kind: 'tensor' },
    epochs: c.epochs,
    lr: c.lr,
    steepness: c.steepness,
    rho: c.rho,
    rhoMax: c.rhoMax,
    limitTrain,
  });
}

/** e.g. `parq lsbq 2-bit`, `admmq unif ternary per-channel`, `fp32`. */
export function describeConfig(c: TrainConfig): string {
  if (c.method === 'fp') return 'fp32';
  const channel = c.granularity.kind === 'channel' ? ' per-channel' : '';
  return `${c.method} ${c.quantizer} ${bitsLabel(c.bits)}${channel}`;
}

/** The `parq train` command line that trains the same run in Node. */
export function cliCommand(c: TrainConfig): string {
  const d = resolveTrainConfig({});
  const flags: string[] = [];
  const add = (name: string, v: unknown, def: unknown) => {
    if (v !== def) flags.push(`--${name} ${v}`);
  };
  // only the flags that apply to the method: `parq train` refuses the others
  const applies = (field: string) => controlApplies(field, c.method);
  add('method', c.method, d.method);
  if (applies('quantizer')) add('quantizer', c.quantizer, d.quantizer);
  if (applies('bits')) add('bits', c.bits, d.bits);
  if (applies('granularity') && c.granularity.kind === 'channel') flags.push('--per-channel');
  add('epochs', c.epochs, d.epochs);
  add('lr', c.lr, d.lr);
  if (applies('steepness')) add('steepness', c.steepness, d.steepness);
  if (applies('rho')) add('rho', c.rho, d.rho);
  if (applies('rhoMax')) add('rho-max', c.rhoMax, d.rhoMax);
  add('limit-train', c.limitTrain, d.limitTrain);
  return ['parq train', ...flags].join(' ');
}
