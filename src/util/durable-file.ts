/// <reference types="node" />
/**
 * Durable, atomic file writes (Node only), shared by model files, checkpoints and
 * packed exports: a file is written beside its target, flushed to disk, then renamed
 * over it, so readers see the old file or the new one, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes `content` to `path` and flushes it to disk (not atomic by itself). */
export function writeFileDurably(path: string, content: string | Uint8Array): void {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  const fd = openSync(path, 'w');
  try {
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes renames in `dir` durable where the platform can sync a directory. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported everywhere (e.g. Windows); the renames are still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A temporary name beside `path`, unique to this process and moment. */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
}

/**
 * Writes `content` to `path` atomically: a flushed temporary file beside it, renamed over
 * `path`. On failure the temporary file is removed and `path` is untouched.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathBeside(path);
  try {
    writeFileDurably(tmp, content);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
