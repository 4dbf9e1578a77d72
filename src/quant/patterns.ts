/**
 * Which weights are quantized, by name: the default patterns (the kernels of Dense and Conv
 * layers) and the wildcard matching that parameter groups and the exporter share.
 */

/** Default: the kernels of Dense and Conv layers. */
export const DEFAULT_QUANT_PATTERNS = ['*/kernel', '*/depthwise_kernel'];

/** A wildcard pattern (`*` any run of characters, `?` one character) as an anchored RegExp. */
export function wildcardToRegExp(pattern: string): RegExp {
  const esc = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** A variable name without tfjs-layers' `_<n>` uniqueness suffix. */
export function baseName(name: string): string {
  return name.replace(/_\d+$/, '');
}

/** Does `name` (or its base name) match one of the wildcard `patterns`? */
export function matchesPatterns(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    const re = wildcardToRegExp(p);
    return re.test(baseName(name)) || re.test(name);
  });
}
