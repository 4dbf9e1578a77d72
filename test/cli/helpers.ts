/// <reference types="node" />
/** Running the real `parq` binary (bin/parq.js on dist/) and writing small data fixtures. */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'parq.js');

/** Builds dist/ when a file under src/ is newer than dist/cli/main.js (or it is missing). */
export function ensureBuilt(): void {
  const target = join(ROOT, 'dist', 'cli', 'main.js');
  const built = existsSync(target) ? statSync(target).mtimeMs : 0;
  if (built > 0 && newest(join(ROOT, 'src')) <= built) return;
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
  } catch (err) {
    // Type errors elsewhere in the tree still emit JavaScript; only a missing build is fatal.
    if (!existsSync(target)) throw err;
  }
}

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

export interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/parq.js ...args` and waits for it. */
export function parq(args: string[], timeoutMs = 90_000): RunOutput {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A CSV classification table: `rows` samples of `features` features, 3 classes around
 * separated centers (deterministic), with a `label` column.
 */
export function writeCsv(path: string, rows = 240, features = 6): void {
  let s = 1;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const header = [...Array.from({ length: features }, (_, j) => `f${j}`), 'label'];
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i++) {
    const label = i % 3;
    const x = Array.from({ length: features }, (_, j) =>
      ((j % 3 === label ? 1 : 0) + 1.5 * (rand() - 0.5)).toFixed(4),
    );
    lines.push([...x, String(label)].join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Big-endian IDX bytes: the header words, then the body. */
export function idxBytes(words: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 * words.length + body.length);
  const view = new DataView(out.buffer);
  words.forEach((w, k) => view.setUint32(4 * k, w));
  out.set(body, 4 * words.length);
  return out;
}

/** The four IDX files of a tiny MNIST-like set (8x8 images), with optional damage. */
export function writeIdx(
  dir: string,
  damage: 'none' | 'magic' | 'truncated' | 'counts' = 'none',
): void {
  mkdirSync(dir, { recursive: true });
  const side = 8;
  const images = (n: number, magic = 0x00000803) =>
    idxBytes(
      [magic, n, side, side],
      Uint8Array.from({ length: n * side * side }, (_, i) => (i * 37) % 256),
    );
  const labels = (n: number) =>
    idxBytes(
      [0x00000801, n],
      Uint8Array.from({ length: n }, (_, i) => i % 10),
    );
  let trainImages = images(40, damage === 'magic' ? 0x00000802 : 0x00000803);
  if (damage === 'truncated') trainImages = trainImages.subarray(0, trainImages.length - 100);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), trainImages);
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labels(damage === 'counts' ? 39 : 40));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images(20));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels(20));
}

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** A metrics.json without its wall-clock parts. */
export function stableMetrics(path: string): unknown {
  const m = readJson(path);
  delete m.timing;
  return m;
}

/**
 * A temp folder holding a 240-row CSV, and the flags of a tiny run on it (an MLP with 16
 * hidden units, batch 16: 12 steps an epoch). Call `setup()` in beforeAll, `cleanup()` in afterAll.
 */
export function tinyCsvFixture(prefix: string) {
  const f = {
    dir: '',
    csv: '',
    setup(): void {
      ensureBuilt();
      f.dir = mkdtempSync(join(tmpdir(), prefix));
      f.csv = join(f.dir, 'table.csv');
      writeCsv(f.csv);
    },
    cleanup(): void {
      rmSync(f.dir, { recursive: true, force: true });
    },
    tiny: (): string[] => [
      '--data',
      `csv:${f.csv}`,
      '--hidden',
      '16',
      '--batch-size',
      '16',
      '--lr',
      '0.1',
      '--quiet',
    ],
  };
  return f;
}
