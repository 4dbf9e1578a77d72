/**
 * Reading a path's bytes from the browser-safe entry point. In Node, node:fs is reached through
 * `process.getBuiltinModule` (Node >= 20.16), never through an import, so bundlers see no Node
 * module in the root entry; elsewhere a path is an error naming the alternatives.
 */

interface ErrnoLike {
  code?: string;
  message?: string;
}

/** A one-line description of a failed read or write of `path`. */
export function describeIoError(path: string, e: unknown, op: 'read' | 'write'): string {
  const code = (e as ErrnoLike).code;
  if (code === 'ENOENT') return op === 'read' ? `${path}: no such file` : `${path}: no such folder`;
  if (code === 'EISDIR') return `${path}: is a folder, not a file`;
  if (code === 'EACCES') return `${path}: permission denied`;
  return `${path}: cannot ${op} (${code ?? (e as ErrnoLike).message})`;
}

type ReadFileSync = (path: string) => Uint8Array;

function nodeReadFileSync(): ReadFileSync | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs') as { readFileSync?: ReadFileSync } | undefined;
  return fs?.readFileSync;
}

/** Whether a file system can be read here (Node >= 20.16). */
export const canReadPaths = (): boolean => nodeReadFileSync() !== undefined;

/** The bytes of the file at `path` (`file://` accepted); a one-line error when unreadable. */
export function readPathBytes(path: string): Uint8Array {
  const readFileSync = nodeReadFileSync();
  const p = path.startsWith('file://') ? path.slice(7) : path;
  if (!readFileSync) {
    throw new Error(
      `${p}: cannot read a path here (needs Node >= 20.16); pass a URL or the file's bytes`,
    );
  }
  try {
    return readFileSync(p);
  } catch (e) {
    throw new Error(describeIoError(p, e, 'read'), { cause: e });
  }
}
