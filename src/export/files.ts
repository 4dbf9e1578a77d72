/**
 * The packed-file helpers of `parq-ts/node` (async, like the rest of the API); the browser-safe
 * root entry does not export them, so it imports nothing of Node.
 */
import * as io from './node-io.js';

/** Writes packed bytes to `path` atomically (temp file + rename); Node only. */
export async function writeQuantizedFile(path: string, bytes: Uint8Array): Promise<void> {
  io.writeQuantizedFile(path, bytes);
}

/** Reads a file's bytes; Node only. */
export async function readQuantizedFile(path: string): Promise<Uint8Array> {
  return io.readQuantizedFile(path);
}

/** Whether the file at `path` is a packed file (checks its magic bytes); Node only. */
export async function isPackedFile(path: string): Promise<boolean> {
  return io.isPackedFile(path);
}
