/// <reference types="node" />
/**
 * Node-only file IO for packed files, exported from `parq-ts/node` (the rest of src/export is
 * browser-safe and imports nothing of Node).
 */
import { closeSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import { MAGIC } from './format.js';
import { tempPathBeside, writeFileDurably } from '../util/durable-file.js';
import { describeIoError } from './path-bytes.js';

const plain = (path: string): string => (path.startsWith('file://') ? path.slice(7) : path);

/** The bytes of the file at `path` (`file://` accepted); a one-line error when it cannot be read. */
export function readQuantizedFile(path: string): Uint8Array {
  const p = plain(path);
  try {
    return readFileSync(p);
  } catch (e) {
    throw new Error(describeIoError(p, e, 'read'), { cause: e });
  }
}

/**
 * Writes `bytes` to `path` atomically: to a temporary file beside it, flushed to disk, then
 * renamed over `path`. On any failure the temporary file is removed and `path` is untouched.
 */
export function writeQuantizedFile(path: string, bytes: Uint8Array): void {
  const p = plain(path);
  const tmp = tempPathBeside(p);
  try {
    writeFileDurably(tmp, bytes);
    renameSync(tmp, p);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(describeIoError(p, e, 'write'), { cause: e });
  }
}

/** Whether the file at `path` starts with the packed file's magic (false when unreadable). */
export function isPackedFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(plain(path), 'r');
    const head = new Uint8Array(MAGIC.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === MAGIC.length && MAGIC.every((b, i) => head[i] === b);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
