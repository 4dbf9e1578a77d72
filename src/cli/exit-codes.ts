/**
 * The exit codes of `parq` (docs/cli.md, "Errors and exit codes"): 0 done, 1 the run failed
 * (diverged, or its outputs could not be written), 2 bad input or a damaged file, 130
 * interrupted. bin/parq.js exits with an error's `exitCode`, 2 when it has none.
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERRUPTED = 130;

/** A run that started and then failed (not bad input): exit code 1. */
export class RunFailedError extends Error {
  readonly exitCode = EXIT_FAILED;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RunFailedError';
  }
}
