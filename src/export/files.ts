/**
 * File helpers for Node, exposed from the browser-safe entry point: each loads node-io.ts
 * (which imports node:fs) only when called, so bundling parq-ts for the browser pulls in no
 * Node module.
 */

/** Writes packed bytes to `path` atomically (temp file + rename); Node only. */
export async function writeQuantizedFile(path: string, bytes: Uint8Array): Promise<void> {
  const io = await import('./node-io.js');
  io.writeQuantizedFile(path, bytes);
}

/** Reads a file's bytes; Node only. */
export async function readQuantizedFile(path: string): Promise<Uint8Array> {
  const io = await import('./node-io.js');
  return io.readQuantizedFile(path);
}

/** Whether the file at `path` is a packed file (checks its magic bytes); Node only. */
export async function isPackedFile(path: string): Promise<boolean> {
  const io = await import('./node-io.js');
  return io.isPackedFile(path);
}
