/**
 * Input validation of conformance files (parq-conformance/1 and parq-trajectory/1), before any
 * case runs: a malformed file is one error naming the case and the field, never a crash, a
 * hang (`"steps": 1e12`) or a case that silently fails.
 */
import type { TensorJson } from './compare.js';

/** A malformed conformance file; the CLI prints its message as one line and exits 2. */
export class ConformanceFileError extends Error {
  override readonly name = 'ConformanceFileError';
}

/** Largest tensor a case may hold (elements), and largest loop a case may run. */
export const MAX_ELEMENTS = 1 << 24;
export const MAX_STEPS = 100_000;

type Obj = Record<string, unknown>;

/** Where a value sits, for messages: `case 3 ('ste-unif-2') field 'steps'`. */
export class Where {
  constructor(
    readonly prefix: string,
    readonly path: string[] = [],
  ) {}

  at(key: string | number): Where {
    return new Where(this.prefix, [...this.path, String(key)]);
  }

  fail(problem: string): never {
    const field = this.path.length ? ` field '${this.path.join('.')}'` : '';
    throw new ConformanceFileError(`${this.prefix}${field}: ${problem}`);
  }
}

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function object(v: unknown, w: Where): Obj {
  if (!isObject(v)) w.fail(`expected an object, got ${show(v)}`);
  return v;
}

export function array(v: unknown, w: Where, min = 0, max = MAX_ELEMENTS): unknown[] {
  if (!Array.isArray(v)) w.fail(`expected an array, got ${show(v)}`);
  if (v.length < min || v.length > max) w.fail(`expected ${min}..${max} entries, got ${v.length}`);
  return v;
}

export function int(v: unknown, w: Where, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    w.fail(`expected an integer in ${min}..${max}, got ${show(v)}`);
  return v;
}

export function finite(v: unknown, w: Where): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    w.fail(`expected a finite number, got ${show(v)}`);
  return v;
}

export function string(v: unknown, w: Where): string {
  if (typeof v !== 'string' || v === '') w.fail(`expected a non-empty string, got ${show(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, names: readonly T[], w: Where): T {
  if (typeof v !== 'string' || !(names as readonly string[]).includes(v))
    w.fail(`expected one of ${names.join(', ')}, got ${show(v)}`);
  return v as T;
}

export function optionalBoolean(v: unknown, w: Where): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') w.fail(`expected true or false, got ${show(v)}`);
  return v as boolean | undefined;
}

/** An array of finite numbers of length `n` (when given). */
export function numbers(v: unknown, w: Where, n?: number): number[] {
  const a = array(v, w, 0, MAX_ELEMENTS);
  if (n !== undefined && a.length !== n) w.fail(`expected ${n} numbers, got ${a.length}`);
  a.forEach((x, i) => finite(x, w.at(i)));
  return a as number[];
}

/** `{shape, data}` with a shape of 0..6 non-negative sizes and data of its size, all finite. */
export function tensor(v: unknown, w: Where, shape?: readonly number[]): TensorJson {
  const t = object(v, w);
  const s = array(t.shape, w.at('shape'), 0, 6).map((d, i) =>
    int(d, w.at('shape').at(i), 0, MAX_ELEMENTS),
  );
  const n = s.reduce((a, b) => a * b, 1);
  if (n > MAX_ELEMENTS) w.at('shape').fail(`more than ${MAX_ELEMENTS} elements`);
  if (shape && (s.length !== shape.length || s.some((d, i) => d !== shape[i])))
    w.at('shape').fail(`expected [${shape.join(', ')}], got [${s.join(', ')}]`);
  numbers(t.data, w.at('data'), n);
  return t as unknown as TensorJson;
}
