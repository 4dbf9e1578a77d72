/**
 * The training flags shared by `parq train` and `parq compare`, derived from the config schema
 * (src/train/config.ts): their parsers (a bad value is a one-line commander error naming the
 * flag), the mapping to a TrainConfig, and the refusal of flags that do nothing.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Granularity } from '../quant/grouping.js';
import { quantizerByName } from '../quant/registry.js';
import {
  checkTrainConfig,
  DEFAULT_TRAIN_CONFIG as D,
  isQuantMethod,
  TRAIN_FIELD_KEYS,
  TRAIN_FIELDS,
  trainField,
  type TrainConfig,
  type TrainFieldKey,
} from '../train/config.js';
import { formatLayerBits } from '../train/layer-bits.js';
import { methodsReading } from '../train/methods.js';
import { choice, fieldWords, flagOf, int, type Field } from '../train/schema.js';
import { BACKEND_NAMES, DEFAULT_SIMD, SIMD_NAMES } from './backend-option.js';

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^[+-]?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}`
          : `expected an integer in ${min}..${max}`,
      );
    }
    return n;
  };
}

export function numberArg(check: (n: number) => boolean, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !check(n))
      throw new InvalidArgumentError(`expected ${what}`);
    return n;
  };
}

/** A schema parser as a commander argument parser (its Error becomes commander's). */
function commanderParser<T>(parse: (text: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}

/** Bits: 1..8, or 0 / `ternary` for ternary. */
export const parseBits: (v: string) => number = commanderParser(
  TRAIN_FIELDS.bits.parse as (text: string) => number,
);

/** A comma-separated list, each item parsed by `item`; order and repeats kept (`64,64`). */
export function listArg<T>(item: (v: string) => T, what: string): (v: string) => T[] {
  return (v) => {
    const parts = v.split(',').map((s) => s.trim());
    if (parts.length === 0 || parts.some((p) => p === '')) {
      throw new InvalidArgumentError(`expected a comma-separated list of ${what}`);
    }
    return parts.map(item);
  };
}

/** A comma-separated set: as `listArg`, first occurrences in order, repeats dropped. */
export function setArg<T>(item: (v: string) => T, what: string): (v: string) => T[] {
  const list = listArg(item, what);
  return (v) => [...new Set(list(v))];
}

/** One of `names` (for list items; single values use commander's choices). */
export function choiceArg<T extends string>(names: readonly T[], what: string): (v: string) => T {
  return (v) => {
    if (!(names as readonly string[]).includes(v)) {
      throw new InvalidArgumentError(
        `unknown ${what} '${v}' (expected one of ${names.join(', ')})`,
      );
    }
    return v as T;
  };
}

/** The flags of a run that are not part of its config, declared as the config's are. */
const RUN_FLAGS = {
  backend: choice({ default: 'wasm', choices: BACKEND_NAMES, help: 'tfjs backend' }),
  threads: int({
    default: 1,
    min: 1,
    max: 64,
    help: 'wasm backend threads in node (1 = single-threaded SIMD)',
    appliesWhen: {
      on: 'backend',
      test: (b) => b === 'wasm' || b === 'auto',
      where: '--backend wasm (or auto)',
    },
  }),
  simd: choice({
    default: DEFAULT_SIMD,
    choices: SIMD_NAMES,
    help: "wasm SIMD kernels: relaxed (fused multiply-adds; turns on Node 20's V8 flag for it) or simd128 (the same results on every machine)",
    appliesWhen: {
      on: 'backend',
      test: (b) => b === 'wasm' || b === 'auto',
      where: '--backend wasm (or auto)',
    },
  }),
} as const;

/** A commander option for the schema field `key`. */
function optionOf(key: string, f: Field<unknown>, help = f.help): Option {
  const flag = flagOf(key);
  if (f.kind === 'switch') return new Option(flag, help);
  const o = new Option(`${flag} ${f.arg ?? '<value>'}`, help);
  if (f.choices) o.choices(f.choices);
  else if (f.parse && f.kind !== 'text') o.argParser(commanderParser(f.parse));
  return o.default(f.default, f.defaultText);
}

/**
 * Adds the flags of one run, derived from the config schema (`TRAIN_FIELDS`): one flag a
 * field, named after it. `compare` swaps the fields with a list flag (method, quantizer,
 * bits) for it and adds `--seeds`.
 */
export function addTrainOptions(cmd: Command, kind: 'train' | 'compare'): Command {
  for (const key of TRAIN_FIELD_KEYS) {
    const f = trainField(key);
    if (f.noFlag && f.kind === 'granularity') {
      cmd
        .addOption(new Option('--per-channel', 'one level set per output channel (last axis)'))
        .addOption(
          new Option(
            '--block-size <n>',
            'one level set per block of n weights in a channel',
          ).argParser(intArg(1)),
        );
      continue;
    }
    if (f.noFlag) continue;
    // compare's grid varies --bits for every kernel: mixed precision is a train flag only
    if (kind === 'compare' && f.kind === 'layer-bits') continue;
    const list = f.compare;
    if (kind === 'compare' && list) {
      const item = f.choices
        ? choiceArg(f.choices, fieldWords(key))
        : commanderParser(f.parse as (text: string) => unknown);
      cmd.addOption(
        new Option(`${list.flag} <set>`, list.help)
          .argParser(setArg(item, `${fieldWords(key)} values`))
          .default(list.default, list.default.map(String).join(',')),
      );
      continue;
    }
    cmd.addOption(optionOf(key, f, kind === 'compare' ? (f.compareHelp ?? f.help) : f.help));
    if (kind === 'compare' && key === 'seed') {
      cmd.addOption(
        new Option('--seeds <n>', 'seeds per configuration (seed, seed+1, ...)')
          .argParser(intArg(1, 1000))
          .default(1),
      );
    }
  }
  for (const [key, f] of Object.entries(RUN_FLAGS))
    cmd.addOption(optionOf(key, f as Field<unknown>));
  cmd
    .addOption(new Option('--overwrite', 'replace a run already in --out'))
    .option('-q, --quiet', 'no progress bars and no summary');
  return cmd;
}

/** Config fields as commander parses them (all but granularity, which has two flags). */
type ConfigFlags = { [K in Exclude<TrainFieldKey, 'granularity'>]?: TrainConfig[K] };

/** The options commander parsed for `addTrainOptions`. */
export interface TrainFlags extends Omit<ConfigFlags, 'bits'> {
  /** A number for `train`, a list for `compare`. */
  bits?: number | number[];
  perChannel?: boolean;
  blockSize?: number;
  backend: string;
  threads: number;
  simd: string;
  overwrite?: boolean;
  quiet?: boolean;
}

/** The granularity the flags ask for; both flags at once is an error. */
export function granularityFromFlags(f: Pick<TrainFlags, 'perChannel' | 'blockSize'>): Granularity {
  if (f.perChannel && f.blockSize !== undefined) {
    throw new Error(
      '--per-channel and --block-size exclude each other (blocks are inside channels)',
    );
  }
  if (f.blockSize !== undefined) return { kind: 'block', blockSize: f.blockSize };
  if (f.perChannel) return { kind: 'channel' };
  return { kind: 'tensor' };
}

/** The TrainConfig the flags set (method, quantizer, bits only for `train`); defaults else. */
export function configFromFlags(f: TrainFlags): TrainConfig {
  const given = f as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of TRAIN_FIELD_KEYS) {
    if (key === 'granularity') out[key] = granularityFromFlags(f);
    else {
      const v = given[key];
      const single = trainField(key).compare ? !Array.isArray(v) : true;
      out[key] = v !== undefined && single ? v : structuredClone(D[key]);
    }
  }
  return out as TrainConfig;
}

/** The config field a flag sets (`perChannel`, `blockSize`: granularity), or null. */
function fieldOfFlag(key: string): TrainFieldKey | null {
  if (key === 'perChannel' || key === 'blockSize') return 'granularity';
  return (TRAIN_FIELD_KEYS as readonly string[]).includes(key) ? (key as TrainFieldKey) : null;
}

/**
 * Refuses a flag given on the command line that none of the runs reads: a field that applies
 * to some methods only (the method table's `reads`), to some data, model, optimizer or lr
 * schedule only (the schema's `appliesWhen`), or a run flag such as `--threads` on a backend
 * without threads. One line naming the flag and where it applies.
 */
export function checkFlagsApply(
  explicit: Set<string>,
  configs: readonly TrainConfig[],
  flags: Pick<TrainFlags, 'backend'>,
): void {
  if (explicit.has('bits') && explicit.has('layerBits')) {
    throw new Error(
      "--bits and --layer-bits exclude each other: give the default bits as '*=b' in --layer-bits",
    );
  }
  for (const key of explicit) {
    const field = fieldOfFlag(key);
    const flag = flagName(key);
    if (field !== null) {
      const methods = methodsReading(field);
      if (methods && !configs.some((c) => methods.includes(c.method))) {
        throw new Error(`${flag} applies to --method ${methods.join(', ')} only`);
      }
      const when = trainField(field).appliesWhen;
      const view = (c: TrainConfig) => c as unknown as Record<string, unknown>;
      if (when && !configs.some((c) => when.test(view(c)[when.on]))) {
        throw new Error(`${flag} applies to ${when.where} only`);
      }
      continue;
    }
    const run = (RUN_FLAGS as Record<string, Field<unknown>>)[key];
    const when = run?.appliesWhen;
    if (when && !when.test((flags as Record<string, unknown>)[when.on])) {
      throw new Error(`${flag} applies to ${when.where} only`);
    }
  }
}

/** The option keys given on the command line (not defaults). */
export function explicitOptions(cmd: Command): Set<string> {
  const out = new Set<string>();
  for (const key of Object.keys(cmd.opts()))
    if (cmd.getOptionValueSource(key) === 'cli') out.add(key);
  return out;
}

/** Flag spelling of an option key: `batchSize` -> `--batch-size`. */
export function flagName(key: string): string {
  return flagOf(key);
}

/** Refuses a run that cannot be trained (before any data is read or file written). */
export function checkRunnable(c: TrainConfig, kind: 'train' | 'compare'): void {
  checkTrainConfig(c);
  if (!isQuantMethod(c.method)) return;
  const lb = c.layerBits?.length ? c.layerBits : null;
  for (const b of lb ? new Set(lb.map((e) => e.bits)) : [c.bits]) {
    try {
      quantizerByName(c.quantizer, b).checkBits(b);
    } catch (err) {
      const q = kind === 'train' ? '--quantizer' : '--quantizers';
      const detail = err instanceof Error ? err.message : String(err);
      const what = lb ? `--layer-bits ${formatLayerBits(lb)}` : `--bits ${b}`;
      throw new Error(`${q} ${c.quantizer} with ${what}: ${detail}`, { cause: err });
    }
  }
}
