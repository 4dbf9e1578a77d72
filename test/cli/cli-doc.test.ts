/// <reference types="node" />
/**
 * docs/cli.md's flag table of `parq train` is the schema's: the committed table equals what
 * `npm run docs:cli` generates, and every TRAIN_FIELDS entry with a flag has its row there with
 * the schema's default and help.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  flagTable,
  generatedTables,
  tableMarkers,
  trainCommandSpec,
  withTable,
} from '../../src/cli/flag-table.js';
import { TRAIN_FIELD_KEYS, trainField } from '../../src/train/config.js';
import { flagOf } from '../../src/train/schema.js';

const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');

function committedTable(name: string): string {
  const { begin, end } = tableMarkers(name);
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  expect(i, `docs/cli.md has the begin marker of ${name}`).toBeGreaterThanOrEqual(0);
  expect(j, `docs/cli.md has the end marker of ${name}`).toBeGreaterThan(i);
  return doc.slice(i + begin.length, j).trim();
}

describe('docs/cli.md flag tables', () => {
  it('equal their generated form (run npm run docs:cli after changing a flag)', () => {
    for (const [name, table] of Object.entries(generatedTables())) {
      expect(committedTable(name)).toBe(table);
    }
  });

  it("hold every schema field's flag, default and help", () => {
    const rows = committedTable('parq train').split('\n');
    for (const key of TRAIN_FIELD_KEYS) {
      const f = trainField(key);
      if (f.noFlag) continue;
      const flag = flagOf(key);
      const row = rows.find((r) => r.startsWith(`| \`${flag} `) || r.startsWith(`| \`${flag}\``));
      expect(row, `a row for ${flag}`).toBeDefined();
      const [, def, meaning] = (row as string)
        .replace(/ \|$/, '')
        .split(' | ')
        .map((c) => c.trim());
      expect(meaning.startsWith(f.help.replace(/\|/g, '\\|')), `${flag}'s help`).toBe(true);
      const want =
        f.defaultText ??
        (f.default === undefined
          ? ''
          : typeof f.default === 'string'
            ? `\`${f.default}\``
            : typeof f.default === 'boolean'
              ? 'off'
              : String(f.default));
      expect(def, `${flag}'s default`).toBe(want);
    }
  });

  it('the generator notices a changed flag', () => {
    const cmd = trainCommandSpec();
    const lr = cmd.options.find((o) => o.long === '--lr');
    if (!lr) throw new Error('no --lr');
    lr.default(0.1);
    const changed = withTable(doc, 'parq train', flagTable(cmd));
    expect(changed).not.toBe(doc);
    expect(changed).toContain('| `--lr <x>` | 0.1 | learning rate |');
  });
});
