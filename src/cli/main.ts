/** The `parq` command line: one file per command, each a thin layer over the library. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { conformanceCommand } from './conformance.js';
import { expandHomeInArgs } from './expand-home.js';
import { useBackend } from './backend-option.js';
import { registerCompare } from './compare.js';
import { registerEval } from './eval.js';
import { registerExportCommand } from './export.js';
import { registerImportCommand } from './import.js';
import { registerInfo } from './info.js';
import { registerTrain } from './train.js';

/** Runs the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const setCode = (c: number) => {
    code = c;
  };
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

  registerTrain(program, setCode);
  registerCompare(program, setCode);
  registerEval(program, setCode);
  registerInfo(program, setCode);
  registerExportCommand(program);
  registerImportCommand(program);

  program
    .command('conformance')
    .description('run golden conformance vectors through the public API')
    .argument('<file>', 'a parq-conformance/1 (vectors) or parq-trajectory/1 (training) JSON file')
    .addOption(
      new Option('--compat <mode>', 'reproduce the PyTorch reference quirks')
        .choices(['auto', 'reference', 'exact'])
        .default('auto'),
    )
    .addOption(
      new Option('--backend <name>', 'tfjs backend')
        .choices(['wasm', 'cpu', 'webgpu'])
        .default('cpu'),
    )
    .option('-v, --verbose', 'list every case')
    .option('--json', 'print the results as one JSON object')
    .action(async (file: string, opts) => {
      const backend = await useBackend(opts.backend);
      code = await conformanceCommand(file, { ...opts, backend });
    });

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

function packageVersion(): string {
  const pkg = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}
