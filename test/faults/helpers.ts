/// <reference types="node" />
/** Fault injection: running `parq` as a child to kill, and checking what it left on disk. */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findCheckpoint, readCheckpointState } from '../../src/train/checkpoint-files.js';
import type { CheckpointState } from '../../src/train/checkpoint.js';
import { BIN, ROOT } from '../cli/helpers.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Child {
  pid: number;
  exited: Promise<number | null>;
  stderr: () => string;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `node bin/parq.js ...args` without waiting for it. */
export function startParq(args: string[]): Child {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ? null : code)),
  );
  return {
    pid: child.pid as number,
    exited,
    stderr: () => stderr,
    kill: (s) => child.kill(s),
  };
}

/**
 * The checkpoint a run folder holds, fully verified (state.json's own checksum and the CRCs
 * of model.json, weights.bin and optimizer.bin), or null when there is none yet.
 */
export function verifiedCheckpoint(out: string): CheckpointState | null {
  if (!existsSync(out)) return null;
  let dir: string;
  try {
    dir = findCheckpoint(out);
  } catch {
    return null;
  }
  return readCheckpointState(dir);
}

/** The names in `dir`, sorted. */
export function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

export const existsIn = (dir: string, name: string) => existsSync(join(dir, name));

/** A seeded generator in [0, 1) (the fault moments are reproducible). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
