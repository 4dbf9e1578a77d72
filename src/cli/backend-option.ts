/** Backend selection for CLI commands: `selectBackend` (src/backend/select.ts), notices on stderr. */
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../backend/select.js';

export const BACKEND_NAMES = BACKEND_CHOICES;

export interface UseBackendOptions {
  /** wasm in node: threads of the wasm backend (1 = the single-threaded SIMD build). */
  threads?: number;
  /** Do not print the notice when the backend differs from the one asked for. */
  quiet?: boolean;
}

/** Selects the tfjs backend `name`; returns the backend in use. Throws a one-line error. */
export async function useBackend(name: string, opts: UseBackendOptions = {}): Promise<string> {
  const { backend, notice } = await selectBackend(name as BackendChoice, { threads: opts.threads });
  if (notice && !opts.quiet) process.stderr.write(`parq: ${notice}\n`);
  return backend;
}
