/// <reference types="node" />
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from './types.js';

/** A file's bytes and the path they came from (for error messages). */
export interface DataFile {
  path: string;
  bytes: Uint8Array;
}

/**
 * Reads `dir/name`, or else `dir/name.gz` (gunzipped). Throws a DataError naming the file when
 * neither exists, it cannot be read, or the gzip stream is corrupt.
 */
export function readDataFile(dir: string, name: string): DataFile {
  const plain = join(dir, name);
  const gz = `${plain}.gz`;
  if (existsSync(plain)) return { path: plain, bytes: readBytes(plain) };
  if (existsSync(gz)) {
    try {
      return { path: gz, bytes: new Uint8Array(gunzipSync(readBytes(gz))) };
    } catch (err) {
      if (err instanceof DataError) throw err;
      throw new DataError(`${gz}: not a valid gzip file (${errorText(err)})`, { cause: err });
    }
  }
  throw new DataError(`${plain}: missing file (also looked for ${name}.gz)`);
}

/** Reads a whole file, turning I/O failures into a DataError that names the file. */
export function readBytes(path: string): Uint8Array {
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${path}: missing file`, { cause: err });
    throw new DataError(`${path}: cannot read (${errorText(err)})`, { cause: err });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
