/** Build prox maps by class name. */
import { ProxMap, ProxHardQuant } from './proxmap.js';
import { ProxPARQ } from './parq.js';
import { ProxBinaryRelax } from './binary-relax.js';
import { ProxSoftQuant } from './soft-quant.js';

const CLASSES: Record<string, new (options: any) => ProxMap> = {
  ProxHardQuant,
  ProxPARQ,
  ProxBinaryRelax,
  ProxSoftQuant,
};

/** The class names `proxMapFromConfig` knows. */
export const proxMapClassNames = (): string[] => Object.keys(CLASSES);

export interface SerializedProxMap {
  className: string;
  config: Record<string, unknown>;
}

export function serializeProxMap(p: ProxMap): SerializedProxMap {
  return { className: p.className, config: p.getConfig() };
}

export function proxMapFromConfig(s: SerializedProxMap): ProxMap {
  const cls = CLASSES[s.className];
  if (!cls) {
    throw new Error(
      `unknown prox map '${s.className}' (known: ${Object.keys(CLASSES).join(', ')})`,
    );
  }
  return new cls(s.config ?? {});
}
