#!/usr/bin/env node
/**
 * Does `parq train` still write the same metrics.json? Runs a few shortened protocol runs
 * (the defaults, ADMM-Q and the other prox methods) on cpu and wasm, and compares each
 * metrics.json, timing aside, with the one recorded in test/fixtures/metrics-before/ from the
 * code before the optimizer refactor (issue 13). Exit 0 when all are equal, 1 otherwise
 * (naming the first differing field of each run).
 *
 *   npm run build && node scripts/metrics-equal.mjs            # compare
 *   node scripts/metrics-equal.mjs --record                     # (re)write the fixtures
 *   node scripts/metrics-equal.mjs --backends cpu --cases parq  # a subset
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'test', 'fixtures', 'metrics-before');
const SHORT = ['--epochs', '3', '--limit-train', '1024', '--limit-test', '256'];

/** name -> extra `parq train` flags (on top of the protocol defaults, shortened). */
export const CASES = {
  parq: [],
  fp: ['--method', 'fp'],
  admmq: ['--method', 'admmq'],
  ste: ['--method', 'ste', '--quantizer', 'unif'],
  binaryrelax: ['--method', 'binaryrelax', '--per-channel'],
  softquant: ['--method', 'softquant', '--quant-shrink', '--warmup-steps', '5'],
};

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const record = process.argv.includes('--record');
const backends = arg('--backends', 'cpu,wasm').split(',');
const cases = arg('--cases', Object.keys(CASES).join(',')).split(',');

/** The metrics of one `parq train` run, without the fields that depend on the clock. */
function train(name, backend) {
  const out = mkdtempSync(join(tmpdir(), 'parq-metrics-'));
  try {
    const flags = ['train', ...SHORT, ...CASES[name], '--backend', backend, '-q', '--out', out];
    execFileSync(process.execPath, [join(root, 'bin', 'parq.js'), ...flags], {
      stdio: ['ignore', 'ignore', 'inherit'],
      cwd: root,
    });
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    delete m.timing;
    // the data fingerprint (issue 18) and the SIMD build are newer than the fixtures (as in
    // the test)
    delete m.dataset?.fingerprint;
    delete m.simd;
    return m;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The path of the first difference between a and b, or null. */
function firstDifference(a, b, path = '') {
  if (
    typeof a !== typeof b ||
    Array.isArray(a) !== Array.isArray(b) ||
    (a === null) !== (b === null)
  ) {
    return `${path || '.'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
  if (a && typeof a === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(a[k], b[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(a, b) ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

let failed = 0;
for (const backend of backends) {
  for (const name of cases) {
    if (!CASES[name]) {
      console.error(`metrics-equal: unknown case '${name}' (${Object.keys(CASES).join(', ')})`);
      process.exit(2);
    }
    const file = join(fixtures, `${name}-${backend}.json`);
    const now = train(name, backend);
    if (record) {
      mkdirSync(fixtures, { recursive: true });
      writeFileSync(file, `${JSON.stringify(now, null, 1)}\n`);
      console.log(`recorded ${name} on ${backend}: ${file}`);
      continue;
    }
    const before = JSON.parse(readFileSync(file, 'utf8'));
    const diff = firstDifference(before, now);
    if (diff) {
      failed++;
      console.log(`DIFFERENT ${name} on ${backend}: ${diff}`);
    } else {
      console.log(
        `same      ${name} on ${backend} (final test accuracy ${now.final?.testAccuracy})`,
      );
    }
  }
}
process.exit(failed > 0 ? 1 : 0);
