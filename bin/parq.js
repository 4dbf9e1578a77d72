#!/usr/bin/env node
// The `parq` command. Errors print as one line, `parq: <message>`, with the error's exit code
// (1 for a run that failed, see src/cli/exit-codes.ts), else 2 (set PARQ_DEBUG=1 to see the stack).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (process.env.PARQ_DEBUG) console.error(err);
    const message = err instanceof Error ? err.message : String(err);
    const line = message.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
    console.error(`parq: ${line.trim()}`);
    process.exitCode = Number.isInteger(err?.exitCode) ? err.exitCode : 2;
  },
);
