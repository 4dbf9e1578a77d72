/**
 * The `parq` command line: one file per command, each a thin layer over the library. `parq`,
 * `parq --help` and `parq --version` build the program from the command table in
 * command-stubs.ts and import nothing of tfjs (start-up in ~0.1 s instead of ~1 s of CPU);
 * every other command line imports the commands (commands.ts), and with them tfjs.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCommandStubs } from './command-stubs.js';
import { expandHomeInArgs } from './expand-home.js';

/** Runs the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const setCode = (c: number) => {
    code = c;
  };
  const program = await createProgram(topLevelOnly(argv) ? 'stubs' : 'full', setCode);
  try {
    await program.parseAsync(expandHomeInArgs(argv), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    throw e;
  }
  return code;
}

/**
 * The program: its own options and the commands, either in full (`full`: their options and
 * actions, importing tfjs) or as stubs that can only be listed (`stubs`: for the top-level
 * help and the version; test/cli/startup.test.ts checks that both print the same help).
 */
export async function createProgram(
  mode: 'full' | 'stubs',
  setCode: (code: number) => void = () => {},
): Promise<Command> {
  const program = new Command('parq')
    .description('Quantization-aware training for TensorFlow.js')
    .version(packageVersion(), '-V, --version', 'print the version of parq-ts')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // One line, like every other error of the CLI: "parq: unknown option '--foo'".
      outputError: (s, write) =>
        write(
          `parq: ${s
            .replace(/^error: /, '')
            .replace(/\s*\n\s*/g, ' ')
            .trim()}\n`,
        ),
    });
  if (mode === 'stubs') registerCommandStubs(program);
  else (await import('./commands.js')).registerCommands(program, setCode);
  return program;
}

/**
 * True when `argv` asks only for the top-level help or the version (no command, or `help`
 * alone): nothing of a command is needed.
 */
export function topLevelOnly(argv: string[]): boolean {
  const words = argv.filter((a) => !a.startsWith('-'));
  const flags = argv.filter((a) => a.startsWith('-'));
  const known = flags.every((f) => ['-h', '--help', '-V', '--version'].includes(f));
  if (!known) return false;
  if (words.length === 0) return true;
  return words.length === 1 && words[0] === 'help' && flags.length === 0;
}

/** The version, where scripts/bundle-cli.mjs built the CLI into one file (no package.json beside it). */
declare const __PARQ_BUNDLED_VERSION__: string | undefined;

function packageVersion(): string {
  if (typeof __PARQ_BUNDLED_VERSION__ === 'string') return __PARQ_BUNDLED_VERSION__;
  const pkg = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}
