// The playground's number inputs come from the config schema (web/src/methods.ts numberControl):
// their label, range and step are the schema entry's `web` control, so they cannot drift
// from what `parq train` accepts.
import { describe, expect, it } from 'vitest';
import { numberControl } from '../../web/src/methods.js';
import { trainField, type TrainFieldKey } from '../../src/train/config.js';

describe('numberControl', () => {
  it.each(['epochs', 'lr', 'steepness', 'rho', 'rhoMax'] as TrainFieldKey[])(
    '%s: label, range and step from the schema',
    (key) => {
      const html = numberControl(key);
      const web = trainField(key).web!;
      expect(html).toContain(`name="${key}"`);
      expect(html).toContain(`>${web.label} <input`);
      if (web.min !== undefined) expect(html).toContain(` min="${web.min}"`);
      if (web.max !== undefined) expect(html).toContain(` max="${web.max}"`);
      else expect(html).not.toContain(' max=');
    },
  );

  it('an integer field without a step steps by 1; a method-specific one names its methods', () => {
    expect(numberControl('epochs')).toContain(' step="1"');
    expect(numberControl('steepness')).toMatch(/title="PARQ: /);
    expect(numberControl('rho')).toMatch(/title="ADMM-Q: /);
    expect(numberControl('lr')).toMatch(/title="[^:"]*"/); // every method reads it: no prefix
  });

  it('refuses a field the playground has no control for', () => {
    expect(() => numberControl('batchSize')).toThrow(/'batchSize' has no playground control/);
  });
});
