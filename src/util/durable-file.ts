/// <reference types="node" />
/**
 * Durable, atomic file writes (Node only), shared by model files, checkpoints and
 * packed exports: a file is written beside its target, flushed to disk, then renamed
 * over it, so readers see the old file or the new one, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `content` to `path` and flushes it to disk (not atomic by itself). A failure throws
 * one line naming the path and the cause (`runs/a/x: cannot write (ENOSPC: no space left on
 * device)`), with the errno `code` kept.
 */
export function writeFileDurably(path: string, content: string | Uint8Array): void {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'w');
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
  } catch (err) {
    throw writeError(path, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** An I/O error as one line naming `path`, keeping the errno code (`err.code`). */
export function writeError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const out = new Error(`${path}: cannot write (${errnoLine(err)})`, {
    cause: err,
  }) as NodeJS.ErrnoException;
  if (code) out.code = code;
  return out;
}

/** `ENOSPC: no space left on device` for an errno error, else its message. */
export function errnoLine(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code) return `${e.code}: ${describeErrno(e.code)}`;
  return e instanceof Error ? e.message : String(err);
}

function describeErrno(code: string): string {
  const known: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or folder',
    ENOTDIR: 'a part of the path is not a folder',
    EISDIR: 'is a folder',
    EIO: 'input/output error',
  };
  return known[code] ?? 'I/O error';
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
    try {
      renameSync(tmp, path);
    } catch (err) {
      throw writeError(path, err);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}
