/** Every command of `parq`, in full (their options and actions): imports tfjs. */
import { Option, type Command } from 'commander';
import { DEFAULT_SIMD, SIMD_NAMES, useBackend } from './backend-option.js';
import { registerCompare } from './compare.js';
import { conformanceCommand } from './conformance.js';
import { registerEval } from './eval.js';
import { registerExportCommand } from './export.js';
import { registerImportCommand } from './import.js';
import { registerInfo } from './info.js';
import { registerTrain } from './train.js';

/** Adds every command to `program`; `setCode` receives a command's exit code. */
export function registerCommands(program: Command, setCode: (code: number) => void): void {
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
    .addOption(
      new Option('--simd <build>', 'wasm SIMD kernels (as parq train --simd)')
        .choices([...SIMD_NAMES])
        .default(DEFAULT_SIMD),
    )
    .option('-v, --verbose', 'list every case')
    .option('--json', 'print the results as one JSON object')
    .action(async (file: string, opts, cmd: Command) => {
      if (cmd.getOptionValueSource('simd') === 'cli' && opts.backend !== 'wasm') {
        throw new Error('--simd applies to --backend wasm only');
      }
      const backend = await useBackend(opts.backend, { simd: opts.simd });
      setCode(await conformanceCommand(file, { ...opts, backend }));
    });
}
