/**
 * The commands of `parq` as the top-level help lists them: name, arguments, one-line
 * description. `parq --help` and `parq --version` build the program from this table alone, so
 * they start without importing tfjs (~0.1 s instead of ~1 s of CPU). Each command's own file
 * declares it in full; test/cli/startup.test.ts checks that this table prints the same help.
 */
import type { Command } from 'commander';

interface CommandStub {
  name: string;
  /** Arguments, as commander spells them (`<file>`). */
  args: string[];
  description: string;
}

export const COMMAND_STUBS: readonly CommandStub[] = [
  {
    name: 'train',
    args: [],
    description: 'train one model (defaults: protocol mlp-mnist10k, 2-bit PARQ + LSBQ)',
  },
  {
    name: 'compare',
    args: [],
    description: 'compare methods / quantizers / bits over seeds on one setup (table: mean ± sd)',
  },
  {
    name: 'eval',
    args: ['<checkpoint>'],
    description: 'evaluate a checkpoint (a run folder or its checkpoint/) on a dataset split',
  },
  {
    name: 'info',
    args: ['<checkpoint>'],
    description: 'describe a checkpoint: architecture, quantized tensors, bits, levels, size',
  },
  {
    name: 'export',
    args: ['<source>'],
    description: 'pack a trained model into a low-bit file (or tfjs format with uint8 weights)',
  },
  {
    name: 'import',
    args: ['<checkpoint>'],
    description: 'a PyTorch / torchao safetensors checkpoint of a zoo model -> packed file or tfjs',
  },
  {
    name: 'conformance',
    args: ['<file>'],
    description: 'run golden conformance vectors through the public API',
  },
];

/** Adds the stubs to `program`: listed in its help (with `[options]`), never run. */
export function registerCommandStubs(program: Command): void {
  for (const stub of COMMAND_STUBS) {
    const cmd = program.command(stub.name).description(stub.description);
    for (const a of stub.args) cmd.argument(a);
    // every command has options: the help lists it as `name [options]`
    cmd.option('--stub', 'never parsed');
  }
}
