/** Build quantizers by class name, from configs or CLI names. */
import { Quantizer } from './quantizer.js';
import { LSBQuantizer } from './lsbq.js';
import { StretchedUnifQuantizer } from './stretched.js';
import {
  AsymUnifQuantizer,
  MaxUnifQuantizer,
  TernaryUnifQuantizer,
  UnifQuantizer,
} from './uniform.js';

const CLASSES: Record<string, new (options: any) => Quantizer> = {
  UnifQuantizer,
  MaxUnifQuantizer,
  AsymUnifQuantizer,
  TernaryUnifQuantizer,
  LSBQuantizer,
  StretchedUnifQuantizer,
};

/** The class names `quantizerFromConfig` knows. */
export const quantizerClassNames = (): string[] => Object.keys(CLASSES);

export interface SerializedQuantizer {
  className: string;
  config: Record<string, unknown>;
}

export function serializeQuantizer(q: Quantizer): SerializedQuantizer {
  return { className: q.className, config: q.getConfig() };
}

export function quantizerFromConfig(s: SerializedQuantizer): Quantizer {
  const cls = CLASSES[s.className];
  if (!cls) {
    throw new Error(
      `unknown quantizer '${s.className}' (known: ${Object.keys(CLASSES).join(', ')})`,
    );
  }
  return new cls(s.config ?? {});
}

/**
 * CLI names: lsbq, lsbq-optimal, unif, unif-max, asym, ternary (uniform ternary), stretched
 * (torchao's Stretched uniform levels).
 */
export const QUANTIZER_NAMES = [
  'lsbq',
  'lsbq-optimal',
  'unif',
  'unif-max',
  'asym',
  'ternary',
  'stretched',
] as const;
export type QuantizerName = (typeof QUANTIZER_NAMES)[number];

/**
 * The quantizer a CLI name means at `bits`. As protocol mlp-mnist10k does, `unif`
 * at ternary (bits 0) means the uniform ternary quantizer.
 */
export function quantizerByName(name: string, bits: number): Quantizer {
  switch (name) {
    case 'lsbq':
      return new LSBQuantizer();
    case 'lsbq-optimal':
      return new LSBQuantizer({ optimal: true });
    case 'unif':
      return bits === 0 ? new TernaryUnifQuantizer() : new UnifQuantizer();
    case 'unif-max':
      return new MaxUnifQuantizer();
    case 'asym':
      return new AsymUnifQuantizer();
    case 'ternary':
      return new TernaryUnifQuantizer();
    case 'stretched':
      return new StretchedUnifQuantizer();
    default:
      throw new Error(`unknown quantizer '${name}' (choose one of ${QUANTIZER_NAMES.join(', ')})`);
  }
}
