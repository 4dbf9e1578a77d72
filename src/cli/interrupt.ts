/**
 * Ctrl-C (SIGINT) and SIGTERM during training: the first one aborts the run between two
 * steps (the last complete checkpoint stays as it is); a second one exits at once (the
 * checkpoint files are replaced atomically, so that is safe too).
 */
export interface Interrupt {
  signal: AbortSignal;
  /** Removes the handlers. */
  dispose(): void;
}

export function handleInterrupts(quiet: boolean): Interrupt {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\nparq: ${name} again: exiting now\n`);
      process.exit(130);
    }
    if (!quiet)
      process.stderr.write(
        `\nparq: ${name}: stopping after the current step (again to exit now)\n`,
      );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
