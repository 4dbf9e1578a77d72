/**
 * The flag tables of docs/cli.md, generated from the commands themselves (their commander
 * options, which `parq train` derives from the config schema, `TRAIN_FIELDS`): one row a flag
 * with its default and help line. `npm run docs:cli` writes them into docs/cli.md between
 * their markers; test/cli/cli-doc.test.ts fails when the committed doc differs.
 */
import { Command, type Option } from 'commander';
import { registerTrain } from './train.js';

/** The marker lines around a generated table in docs/cli.md. */
export function tableMarkers(name: string): { begin: string; end: string } {
  return {
    begin: `<!-- flags of ${name}: generated from the schema by \`npm run docs:cli\`; do not edit -->`,
    end: `<!-- end of the flags of ${name} -->`,
  };
}

/** How a default reads in the table: `mnist`, 0.05, 256,256, off; empty when there is none. */
function defaultText(o: Option): string {
  if (o.defaultValueDescription !== undefined) return o.defaultValueDescription;
  const v: unknown = o.defaultValue;
  if (v === undefined) return o.required || o.optional ? '' : 'off';
  if (typeof v === 'string') return `\`${v}\``;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** `|` would end a table cell. */
const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The markdown table of `cmd`'s flags, in the order of its --help (help itself left out). */
export function flagTable(cmd: Command): string {
  const rows = cmd.options
    .filter((o) => !o.hidden)
    .map((o) => {
      const choices = o.argChoices ? ` (${o.argChoices.map((c) => `\`${c}\``).join(', ')})` : '';
      return `| \`${o.flags}\` | ${cell(defaultText(o))} | ${cell(o.description)}${choices} |`;
    });
  return ['| flag | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The `parq train` command, registered on a fresh program (nothing runs). */
export function trainCommandSpec(): Command {
  const program = new Command('parq');
  registerTrain(program, () => undefined);
  const cmd = program.commands.find((c) => c.name() === 'train');
  if (!cmd) throw new Error('parq train is not registered');
  return cmd;
}

/** `doc` with the table between the markers of `name` replaced by `table`. */
export function withTable(doc: string, name: string, table: string): string {
  const { begin, end } = tableMarkers(name);
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs/cli.md: no markers for the flags of ${name}`);
  return `${doc.slice(0, i + begin.length)}\n${table}\n${doc.slice(j)}`;
}

/** The tables docs/cli.md holds, by name. */
export function generatedTables(): Record<string, string> {
  return { 'parq train': flagTable(trainCommandSpec()) };
}
