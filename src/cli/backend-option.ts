/** Backend selection for CLI commands: `selectBackend` (src/backend/select.ts), notices on stderr. */
import {
  BACKEND_CHOICES,
  SIMD_CHOICES,
  selectBackend,
  type BackendChoice,
  type SimdChoice,
} from '../backend/select.js';

export const BACKEND_NAMES = BACKEND_CHOICES;
export const SIMD_NAMES = SIMD_CHOICES;
/** The SIMD build every command runs unless told (`--simd`): relaxed, as Node 22 and Chrome run. */
export const DEFAULT_SIMD: SimdChoice = 'relaxed';

export interface UseBackendOptions {
  /** wasm in node: threads of the wasm backend (1 = the single-threaded SIMD build). */
  threads?: number;
  /**
   * wasm: the SIMD kernels' build. Default 'relaxed': the CLI runs them as Node 22 and
   * Chrome do, turning Node 20's V8 flag on for it (selectBackend's `simd`).
   */
  simd?: string;
  /** Do not print the notice when the backend differs from the one asked for. */
  quiet?: boolean;
}

/** Selects the tfjs backend `name`; returns the backend in use. Throws a one-line error. */
export async function useBackend(name: string, opts: UseBackendOptions = {}): Promise<string> {
  const { backend, notice } = await selectBackend(name as BackendChoice, {
    threads: opts.threads,
    simd: (opts.simd ?? DEFAULT_SIMD) as SimdChoice,
  });
  if (notice && !opts.quiet) process.stderr.write(`parq: ${notice}\n`);
  return backend;
}
