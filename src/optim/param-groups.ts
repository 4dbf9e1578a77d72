/**
 * Parameter groups: which variables are quantized, and how.
 *
 * A group picks variables by name patterns with wildcards (`*` any run of
 * characters, `?` one character, as tfjs-converter's `--quantize_uint8 "*"`),
 * by explicit variables or by layers; the first group that claims a variable
 * owns it. Names are matched without tfjs-layers' uniqueness suffix (`_1`).
 * Variables no group claims are trained in float by the base optimizer.
 */
import * as tf from '@tensorflow/tfjs';
import { Granularity, GroupView, groupView } from '../quant/grouping.js';
import { checkBits, Quantizer } from '../quant/quantizer.js';
import { ProxMap } from '../prox/proxmap.js';
import { baseName, DEFAULT_QUANT_PATTERNS, wildcardToRegExp } from '../quant/patterns.js';

/** Anything with a variable name: a tf.Variable, a tfjs-layers LayerVariable, or a name. */
export type VariableRef = string | { name: string; read?: () => tf.Variable };

/** Something with weights, e.g. a tfjs-layers Layer. */
export interface LayerLike {
  name: string;
  trainableWeights: { name: string; originalName?: string; read?: () => tf.Variable }[];
}

export interface ParamGroup {
  /** Name patterns, e.g. `'*'`, `'dense*\/kernel'`. */
  match?: string | string[];
  variables?: VariableRef[];
  /** Layers whose kernels this group takes (weights named `kernel`, `depthwise_kernel`). */
  layers?: LayerLike[];
  /**
   * Restricts `match` to names that also match one of these patterns, e.g.
   * `DEFAULT_QUANT_PATTERNS` for `fc1/*` to take `fc1/kernel` but not `fc1/bias`.
   */
  among?: string[];
  /** Bits 1..8, 0 = ternary; omit for a float group (e.g. only weight decay). */
  bits?: number;
  /** Per tensor (default), per channel, or per block; overrides the optimizer's default. */
  granularity?: Granularity;
  quantizer?: Quantizer;
  prox?: ProxMap;
  /** Decoupled weight decay: `w -= lr * weightDecay * w` each step. Default 0. */
  weightDecay?: number;
}

export { DEFAULT_QUANT_PATTERNS, wildcardToRegExp, baseName };

export function refName(ref: VariableRef): string {
  if (typeof ref === 'string') return ref;
  return typeof ref.read === 'function' ? ref.read().name : ref.name;
}

/** One variable of a group, resolved. */
export interface ResolvedEntry {
  name: string;
  variable: tf.Variable;
  group: number;
  bits: number;
  /** How the variable is grouped (the group's, or the optimizer's default). */
  granularity: Granularity;
  view: GroupView;
  quantizer: Quantizer;
  /** The group's prox map, or the optimizer's default (none for ADMM-Q). */
  prox?: ProxMap;
}

export interface Defaults {
  quantizer: Quantizer;
  prox?: ProxMap;
  granularity: Granularity;
}

/** The variable names of the kernels of a group's layers (`kernel`, `depthwise_kernel`). */
export function layerKernelNames(g: ParamGroup): string[] {
  const out: string[] = [];
  for (const layer of g.layers ?? []) {
    for (const w of layer.trainableWeights) {
      const short = (w.originalName ?? w.name).split('/').pop() ?? '';
      if (short === 'kernel' || short === 'depthwise_kernel') out.push(refName(w));
    }
  }
  return out;
}

export function describeGroup(g: ParamGroup, i: number): string {
  const parts: string[] = [];
  if (g.match) parts.push(`match ${JSON.stringify(g.match)}`);
  if (g.variables) parts.push(`${g.variables.length} variables`);
  if (g.layers) parts.push(`layers ${g.layers.map((l) => l.name).join(',')}`);
  return `group ${i} (${parts.join(', ') || 'no selector'})`;
}

/** Checks that need no variables: run at construction. */
export function checkGroup(g: ParamGroup, i: number, defaults: Defaults): void {
  const what = describeGroup(g, i);
  if (!g.match && !g.variables && !g.layers) {
    throw new Error(`${what}: give match patterns, variables or layers`);
  }
  if (g.bits !== undefined) {
    checkBits(g.bits, `${what}: bits`);
    (g.quantizer ?? defaults.quantizer).checkBits(g.bits);
  }
  if (g.weightDecay !== undefined && !(g.weightDecay >= 0)) {
    throw new Error(`${what}: weightDecay must be >= 0, got ${g.weightDecay}`);
  }
}

function groupNames(g: ParamGroup): { names: Set<string>; patterns: RegExp[]; among: RegExp[] } {
  const names = new Set<string>([...(g.variables ?? []).map(refName), ...layerKernelNames(g)]);
  const pats = g.match === undefined ? [] : Array.isArray(g.match) ? g.match : [g.match];
  return {
    names,
    patterns: pats.map(wildcardToRegExp),
    among: (g.among ?? []).map(wildcardToRegExp),
  };
}

const nameMatches = (name: string, res: RegExp[]) =>
  res.some((re) => re.test(baseName(name)) || re.test(name));

/**
 * Assign each variable name to the first group that claims it. Throws, naming
 * the problem, on a missing or non-float variable, a group that claims nothing,
 * or a shape the group's granularity cannot split. Mutates nothing.
 */
export function resolveGroups(
  variableNames: string[],
  groups: ParamGroup[],
  defaults: Defaults,
): { entries: ResolvedEntry[]; owner: Map<string, number> } {
  const owner = new Map<string, number>();
  const entries: ResolvedEntry[] = [];
  const present = new Set(variableNames);
  groups.forEach((g, gi) => {
    const { names, patterns, among } = groupNames(g);
    for (const n of names) {
      if (!present.has(n)) {
        throw new Error(
          `${describeGroup(g, gi)}: variable '${n}' is not among the trained variables`,
        );
      }
    }
    let claimed = 0;
    for (const name of variableNames) {
      const hit =
        names.has(name) ||
        (nameMatches(name, patterns) && (among.length === 0 || nameMatches(name, among)));
      if (!hit) continue;
      claimed++;
      if (owner.has(name)) continue;
      owner.set(name, gi);
      if (g.bits === undefined) continue;
      const variable = tf.engine().registeredVariables[name];
      if (!variable) throw new Error(`variable '${name}' is not registered with tfjs`);
      if (variable.dtype !== 'float32') {
        throw new Error(
          `variable '${name}' has dtype ${variable.dtype}: only float32 can be quantized`,
        );
      }
      entries.push({
        name,
        variable,
        group: gi,
        bits: g.bits,
        granularity: g.granularity ?? defaults.granularity,
        view: groupView(
          variable.shape,
          g.granularity ?? defaults.granularity,
          `variable '${name}'`,
        ),
        quantizer: g.quantizer ?? defaults.quantizer,
        prox: g.prox ?? defaults.prox,
      });
    }
    if (claimed === 0) {
      throw new Error(
        `${describeGroup(g, gi)} matches no trained variable (have: ${variableNames.join(', ')})`,
      );
    }
  });
  return { entries, owner };
}
