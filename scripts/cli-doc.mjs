// Writes the generated flag tables into docs/cli.md (between their markers), from the built
// CLI (dist/): the tables come from the commands' options, i.e. from the config schema.
// `node scripts/cli-doc.mjs --check` only says whether the doc is up to date (exit 1 if not).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedTables, withTable } from '../dist/cli/flag-table.js';

const path = fileURLToPath(new URL('../docs/cli.md', import.meta.url));
const before = readFileSync(path, 'utf8');
let doc = before;
for (const [name, table] of Object.entries(generatedTables())) doc = withTable(doc, name, table);
if (process.argv.includes('--check')) {
  if (doc !== before) {
    console.error('docs/cli.md: the flag tables are out of date: run npm run docs:cli');
    process.exit(1);
  }
  console.log('docs/cli.md: the flag tables are up to date');
} else if (doc !== before) {
  writeFileSync(path, doc);
  console.log('docs/cli.md: flag tables rewritten');
} else console.log('docs/cli.md: the flag tables are up to date');
