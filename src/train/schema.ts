/**
 * The vocabulary of the declarative config schema (./config.ts declares the fields with it):
 * each field has a kind, a default, a check, a help line, and optionally the text parser of
 * its CLI flag, the condition under which it applies, the list flag of `parq compare`, and the
 * playground's control. The CLI options (src/cli/options.ts), the validation
 * (`checkTrainConfig`) and the playground's controls are derived from the fields.
 *
 * Browser-safe and free of commander: a parser throws a plain Error saying what it expected.
 */

/** A config seen by the rules that look at other fields. */
export type ConfigView = Readonly<Record<string, unknown>>;

/** When a field means something: `test` on the config, `where` for the message. */
export interface AppliesWhen {
  /** The field (or CLI flag) the condition is on, e.g. `model`. */
  readonly on: string;
  readonly test: (value: unknown) => boolean;
  /** e.g. `--model mlp`: the flag is refused with `--hidden applies to --model mlp only`. */
  readonly where: string;
}

/** `parq compare`'s list flag that replaces a field's single flag. */
export interface CompareList<T> {
  readonly flag: string;
  readonly help: string;
  readonly default: readonly T[];
}

/** A playground control: a number box (or a select for choices and bits). */
export interface WebControl {
  readonly label: string;
  readonly min?: number;
  readonly max?: number;
  readonly step?: number | 'any';
}

export type FieldKind =
  | 'text'
  | 'int'
  | 'number'
  | 'fraction'
  | 'choice'
  | 'bits'
  | 'int-list'
  | 'switch'
  | 'granularity'
  | 'layer-bits';

export interface Field<T> {
  readonly kind: FieldKind;
  /** The field's name in messages. Default: its key in words (`batchSize`: `batch size`). */
  readonly name?: string;
  readonly default: T;
  readonly help: string;
  /** The problem with `v` (a message starting with `what`, the field's name), or null. */
  readonly check: (v: unknown, what: string, c: ConfigView) => string | null;
  /** A rule between this field and others, checked after every field's own check. */
  rule?(v: T, c: ConfigView): string | null;
  /** Parses the flag's text; throws an Error saying what it expected. None for switches. */
  readonly parse?: (text: string) => T;
  /** The allowed names of a choice. */
  readonly choices?: readonly string[];
  /** The flag's argument placeholder, e.g. `<n>`; the flag itself is named after the key. */
  readonly arg?: string;
  /** No flag (set another way). */
  readonly noFlag?: boolean;
  /** Shown as the flag's default in --help when the value itself reads badly. */
  readonly defaultText?: string;
  readonly appliesWhen?: AppliesWhen;
  readonly compare?: CompareList<T>;
  /** The flag's help in `parq compare` when it reads differently there. */
  readonly compareHelp?: string;
  readonly web?: WebControl;
}

/** The value type a field holds. */
export type FieldValue<F> = F extends Field<infer T> ? T : never;

/** `batchSize` -> `batch size`, the field's name in messages. */
export function fieldWords(key: string): string {
  return key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}

/** `batchSize` -> `--batch-size`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

type Extra<T> = Partial<Omit<Field<T>, 'kind' | 'check' | 'parse' | 'default' | 'help'>> & {
  default: T;
  help: string;
};

/** A non-empty string. */
export function text(f: Extra<string> & { empty?: string }): Field<string> {
  return {
    arg: '<value>',
    ...f,
    kind: 'text',
    check: (v, what) =>
      typeof v === 'string' && v !== '' ? null : (f.empty ?? `${what}: give a value`),
    parse: (s) => s,
  };
}

function parseInteger(s: string): number {
  const n = Number(s);
  return /^[+-]?\d+$/.test(s.trim()) && Number.isSafeInteger(n) ? n : NaN;
}

/** An integer in min..max (max optional). */
export function int(f: Extra<number> & { min: number; max?: number }): Field<number> {
  const max = f.max ?? Number.MAX_SAFE_INTEGER;
  const ok = (v: unknown): v is number =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= f.min && v <= max;
  const range = f.max === undefined ? `>= ${f.min}` : `in ${f.min}..${f.max}`;
  return {
    arg: '<n>',
    ...f,
    kind: 'int',
    check: (v, what) => (ok(v) ? null : `${what} must be an integer ${range}, got ${String(v)}`),
    parse: (s) => {
      const n = parseInteger(s);
      if (!ok(n)) throw new Error(`expected an integer ${range}`);
      return n;
    },
  };
}

/** A finite number passing `test`, described by `what` (`a positive number`). */
export function number(
  f: Extra<number> & { test: (n: number) => boolean; expected: string },
): Field<number> {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && f.test(v);
  const { test: _t, expected: _e, ...rest } = f;
  return {
    arg: '<x>',
    ...rest,
    kind: 'number',
    check: (v, what) => (ok(v) ? null : `${what} must be ${f.expected}, got ${String(v)}`),
    parse: (s) => {
      const n = Number(s);
      if (s.trim() === '' || !ok(n)) throw new Error(`expected ${f.expected}`);
      return n;
    },
  };
}

export const positive = (n: number) => n > 0;

/** A fraction in [0, 1] (of all steps, of a window): its name says fraction. */
export function fraction(f: Extra<number>): Field<number> {
  return {
    ...number({
      arg: '<frac>',
      ...f,
      test: (n) => n >= 0 && n <= 1,
      expected: 'a fraction in [0, 1]',
    }),
    kind: 'fraction',
  };
}

/** One of `names`. */
export function choice<T extends string>(f: Extra<T> & { choices: readonly T[] }): Field<T> {
  return {
    arg: '<name>',
    ...f,
    kind: 'choice',
    check: (v, what) =>
      f.choices.includes(v as T)
        ? null
        : `${what}: unknown value '${String(v)}' (expected one of ${f.choices.join(', ')})`,
    parse: (s) => {
      if (!f.choices.includes(s as T)) {
        throw new Error(`unknown value '${s}' (expected one of ${f.choices.join(', ')})`);
      }
      return s as T;
    },
  };
}

/** Bits of the quantized weights: 1..8, or 0 / `ternary` for three levels. */
export function bits(f: Extra<number>): Field<number> {
  return {
    arg: '<n>',
    ...f,
    kind: 'bits',
    check: (v, what) =>
      typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 8
        ? null
        : `${what} must be an integer in 0..8 (0 = ternary), got ${String(v)}`,
    parse: (s) => {
      const t = s.trim().toLowerCase();
      if (t === 'ternary') return 0;
      if (!/^\d+$/.test(t) || Number(t) > 8) {
        throw new Error('bits must be 1..8, or 0 / ternary (three levels)');
      }
      return Number(t);
    },
  };
}

/** A comma-separated list of positive integers. */
export function intList(f: Extra<number[]> & { items: string }): Field<number[]> {
  const { items, ...rest } = f;
  return {
    arg: '<list>',
    defaultText: f.default.join(','),
    ...rest,
    kind: 'int-list',
    check: (v, what) =>
      Array.isArray(v) && v.every((u) => Number.isSafeInteger(u) && u > 0)
        ? null
        : `${what} must be positive integers, got ${JSON.stringify(v)}`,
    parse: (s) => {
      const parts = s.split(',').map((p) => p.trim());
      const n = parts.map(parseInteger);
      if (parts.some((p) => p === '') || !n.every((u) => u > 0)) {
        throw new Error(`expected a comma-separated list of ${items}`);
      }
      return n;
    },
  };
}

/** A boolean set by a flag without a value. */
export function flagSwitch(f: Extra<boolean>): Field<boolean> {
  return {
    ...f,
    kind: 'switch',
    check: (v, what) => (typeof v === 'boolean' ? null : `${what} must be true or false`),
  };
}
