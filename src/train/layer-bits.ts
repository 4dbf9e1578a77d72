/**
 * Mixed precision per layer (`--layer-bits 'fc1/*=4,logits/*=8,*=2'`), like torchao's
 * QuantConfig with per-layer filters: a list of `pattern=bits` entries over the stable weight
 * names of the quantizable kernels (`fc1/kernel`, `stem_conv/kernel`: the kernels of Dense and
 * Conv layers; biases, batch-norm and embedding weights are never quantized).
 *
 * - The first entry whose pattern matches a kernel gives its bits (as parameter groups: the
 *   first group that claims a variable owns it), so put the specific patterns first and `*=b`
 *   last.
 * - A kernel that no pattern matches stays float; `*=b` quantizes all the others at b bits.
 * - Patterns are wildcards (`*` any run of characters, `?` one character) matched against the
 *   whole name; bits are 1..8, or 0 / `ternary`, each checked against the run's quantizer.
 * - Refused before training, one line each: an empty spec or entry, an entry without `=`, bad
 *   bits, a repeated pattern, a pattern that matches no kernel, and a pattern that only matches
 *   kernels an earlier pattern took.
 *
 * An empty list (the default) means the run's `bits` for every kernel; with entries, `bits`
 * is not read (the CLI refuses `--bits` beside `--layer-bits`). Browser-safe.
 */
import { DEFAULT_QUANT_PATTERNS, matchesPatterns, wildcardToRegExp } from '../quant/patterns.js';

/** One `pattern=bits` entry. */
export interface LayerBitsEntry {
  pattern: string;
  bits: number;
}

/** The entries, in order; empty: the run's `bits` everywhere. */
export type LayerBits = LayerBitsEntry[];

function parseEntryBits(text: string, entry: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'ternary') return 0;
  if (!/^\d+$/.test(t) || Number(t) > 8) {
    throw new Error(`'${entry}': bits must be 1..8, or 0 / ternary, got '${text.trim()}'`);
  }
  return Number(t);
}

/**
 * Parses `pattern=bits,pattern=bits,...` (spaces around items ignored). Throws an Error saying
 * what is wrong with the first bad entry.
 */
export function parseLayerBits(text: string): LayerBits {
  if (text.trim() === '') throw new Error("expected pattern=bits entries, e.g. 'fc1/*=4,*=2'");
  const out: LayerBits = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') throw new Error(`empty entry in '${text}' (a stray comma?)`);
    const eq = item.lastIndexOf('=');
    if (eq < 0) throw new Error(`'${item}': expected pattern=bits, e.g. 'fc1/*=4'`);
    const pattern = item.slice(0, eq).trim();
    if (pattern === '') throw new Error(`'${item}': the pattern before '=' is empty`);
    out.push({ pattern, bits: parseEntryBits(item.slice(eq + 1), item) });
  }
  const problem = layerBitsProblem(out, 'layer bits');
  if (problem !== null) throw new Error(problem.replace(/^layer bits: /, ''));
  return out;
}

/** The problem with a layer-bits value (a message starting with `what`), or null. */
export function layerBitsProblem(v: unknown, what: string): string | null {
  if (!Array.isArray(v)) return `${what}: expected a list of {pattern, bits}, got ${String(v)}`;
  const seen = new Set<string>();
  for (const e of v as unknown[]) {
    const { pattern, bits } = (e ?? {}) as Partial<LayerBitsEntry>;
    if (typeof pattern !== 'string' || pattern.trim() === '') {
      return `${what}: every entry needs a non-empty pattern, got ${JSON.stringify(e)}`;
    }
    if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 0 || bits > 8) {
      return `${what}: '${pattern}' bits must be an integer in 0..8 (0 = ternary), got ${String(bits)}`;
    }
    if (seen.has(pattern)) return `${what}: pattern '${pattern}' is given twice`;
    seen.add(pattern);
  }
  return null;
}

/** `fc1/*=4,*=2` (ternary as 0), the CLI's spelling of `layerBits`. */
export function formatLayerBits(lb: readonly LayerBitsEntry[]): string {
  return lb.map((e) => `${e.pattern}=${e.bits}`).join(',');
}

/**
 * The bits of each quantizable kernel among `names` (stable weight names, e.g. `fc1/kernel`),
 * first match wins; kernels no pattern matches are absent (float). Throws naming a pattern
 * that matches no kernel, or only kernels an earlier pattern took.
 */
export function resolveLayerBits(
  lb: readonly LayerBitsEntry[],
  names: readonly string[],
): Map<string, number> {
  const kernels = names.filter((n) => matchesPatterns(n, DEFAULT_QUANT_PATTERNS));
  const out = new Map<string, number>();
  for (const { pattern, bits } of lb) {
    const re = wildcardToRegExp(pattern);
    const hits = kernels.filter((n) => re.test(n));
    if (hits.length === 0) {
      throw new Error(
        `--layer-bits: pattern '${pattern}' matches no quantizable weight ` +
          `(Dense/Conv kernels: ${kernels.join(', ') || 'none'})`,
      );
    }
    const fresh = hits.filter((n) => !out.has(n));
    if (fresh.length === 0) {
      throw new Error(
        `--layer-bits: pattern '${pattern}' only matches weights an earlier pattern took ` +
          `(first match wins): ${hits.join(', ')}`,
      );
    }
    for (const n of fresh) out.set(n, bits);
  }
  return out;
}
