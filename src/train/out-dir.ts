/// <reference types="node" />
/**
 * Claiming a run's output folder before training (node only): `claimOutDir` checks the path,
 * creates the folder one level at a time (never a recursive mkdir, which spins forever under
 * /proc), writes and removes a probe file, takes a lock file holding the pid (a second writer
 * is refused), and removes the temporary files and folders a killed run left behind. Every
 * failure is one line naming the path and the cause, before a single epoch is trained.
 */
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { errnoLine, writeFileDurably } from '../util/durable-file.js';

/** The lock file in a run folder: the pid of the process writing there. */
export const LOCK_FILE = '.parq.lock';

/** Temporary names `writeCheckpoint` and `writeFileAtomic` use: `.<name>.tmp-<pid>-<time>`. */
const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-z]+$/;

export interface ClaimedOutDir {
  /** The folder (absolute). */
  path: string;
  /** Temporary files or folders of earlier, killed runs that were removed. */
  cleaned: string[];
  /**
   * Drops the lock; with `{ removeIfUnused: true }` also removes the folder when this claim
   * created it and nothing was written in it.
   */
  release(opts?: { removeIfUnused?: boolean }): void;
}

/** Throws `<label> <path>: <problem>`. */
function fail(label: string, path: string, problem: string, cause?: unknown): never {
  throw new Error(`${label} ${path}: ${problem}`, { cause });
}

/**
 * Creates (if needed), probes, locks and cleans the output folder `out`. `label` starts every
 * error message (the CLI passes `--out`).
 */
export function claimOutDir(out: string, label = 'output folder'): ClaimedOutDir {
  if (out.trim() === '') throw new Error(`${label}: empty path`);
  const path = resolve(out);
  const created = makeFolder(path, out, label);
  try {
    probe(path, out, label);
    const lock = takeLock(path, out, label);
    const cleaned = cleanStale(path);
    let released = false;
    const release = (opts: { removeIfUnused?: boolean } = {}) => {
      if (released) return;
      released = true;
      process.off('exit', onExit);
      dropLock(lock);
      if (opts.removeIfUnused && created) {
        try {
          rmdirSync(path); // only succeeds when empty
        } catch {
          // something was written: keep it
        }
      }
    };
    const onExit = () => release();
    process.on('exit', onExit);
    return { path, cleaned, release };
  } catch (err) {
    if (created) rmSync(path, { recursive: true, force: true });
    throw err;
  }
}

/** Makes `path` a folder, one level at a time; true when it did not exist before. */
function makeFolder(path: string, given: string, label: string): boolean {
  const missing: string[] = [];
  let at = path;
  for (;;) {
    let st;
    try {
      st = lstatSync(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: an ancestor is a file, which the walk up reaches and names.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        fail(label, given, `cannot look at ${at} (${errnoLine(err)})`, err);
      }
    }
    if (st) {
      if (st.isSymbolicLink()) {
        const target = statSync(at, { throwIfNoEntry: false });
        if (!target) fail(label, given, `${at} is a dangling symbolic link`);
        st = target;
      }
      if (!st.isDirectory()) {
        fail(label, given, at === path ? 'exists and is not a folder' : `${at} is not a folder`);
      }
      break;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break; // the root itself is missing: impossible, but never loop
    at = parent;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
      // Under /proc (and some other pseudo file systems) mkdir reports ENOENT in a folder
      // that exists: the file system does not hold folders of ours.
      const why =
        code === 'ENOENT'
          ? `${dirname(dir)} does not allow creating folders (ENOENT)`
          : errnoLine(err);
      fail(label, given, `cannot create folder ${dir} (${why})`, err);
    }
  }
  return missing.length > 0;
}

/** Writes and removes a small file, so that a read-only or full folder fails now. */
function probe(path: string, given: string, label: string): void {
  const file = join(path, `.parq-probe-${process.pid}`);
  try {
    writeFileDurably(file, 'parq: checking that this folder is writable\n');
  } catch (err) {
    rmSync(file, { force: true });
    fail(label, given, `cannot write in it (${errnoLine(err)})`, err);
  }
  rmSync(file, { force: true });
}

interface Lock {
  file: string;
  pid: number;
}

function takeLock(path: string, given: string, label: string): Lock {
  const file = join(path, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      return { file, pid: process.pid };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        fail(label, given, `cannot create the lock file ${file} (${errnoLine(err)})`, err);
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const holder = lockHolder(file);
    if (holder !== null && holder !== process.pid && isAlive(holder)) {
      fail(
        label,
        given,
        `another parq process (pid ${holder}) is writing this run (lock file ${file}); ` +
          'wait for it, or remove the lock file if that process is gone',
      );
    }
    rmSync(file, { force: true }); // left by a killed run
  }
  return fail(label, given, `cannot take the lock file ${file}`);
}

function lockHolder(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function dropLock(lock: Lock): void {
  if (lockHolder(lock.file) === lock.pid) rmSync(lock.file, { force: true });
}

/** Removes temporary files and folders of other (dead: we hold the lock) processes. */
function cleanStale(path: string): string[] {
  const cleaned: string[] = [];
  for (const name of readdirSync(path)) {
    const m = TEMP_NAME.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    rmSync(join(path, name), { recursive: true, force: true });
    cleaned.push(name);
  }
  return cleaned;
}
