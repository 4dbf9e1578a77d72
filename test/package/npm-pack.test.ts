/// <reference types="node" />
// The package as a user gets it: `npm pack` from a clean copy of the tree (no dist/, so the
// prepack build must make it), installed into a fresh project, then the README's first example
// run as pasted, the TypeScript set-up the README documents, and both bin names.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'parq-pack-'));
const app = join(work, 'app');
const installed = join(app, 'node_modules', 'parq-ts');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
let shipped: string[] = [];

/** The first fenced block of `lang` in `markdown` (after `after`, when given). */
function fenced(markdown: string, lang: string, after = ''): string {
  const from = after ? markdown.indexOf(after) : 0;
  expect(from).toBeGreaterThanOrEqual(0);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(markdown.slice(from));
  expect(m, `a \`\`\`${lang} block`).not.toBeNull();
  return m![1];
}

beforeAll(() => {
  // A clean copy: the files git would commit, without node_modules' content or any build.
  const clone = join(work, 'clone');
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: root,
    },
  )
    .toString()
    .split('\0')
    .filter((f) => f && f !== 'node_modules' && existsSync(join(root, f)));
  for (const f of files) {
    mkdirSync(dirname(join(clone, f)), { recursive: true });
    cpSync(join(root, f), join(clone, f));
  }
  expect(existsSync(join(clone, 'dist'))).toBe(false);
  symlinkSync(realpathSync(join(root, 'node_modules')), join(clone, 'node_modules'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: clone,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as { filename: string; files: { path: string }[] }[];
  shipped = packed[0].files.map((f) => f.path);
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', type: 'module', private: true }),
  );
  const tgz = join(work, packed[0].filename);
  execFileSync(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--omit=optional',
      tgz,
      '@tensorflow/tfjs@4.22.0',
      '@types/node@26.6.6',
    ],
    { cwd: app, stdio: 'pipe' },
  );
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack from a clean clone', () => {
  it('builds dist/ on prepack and ships it with LICENSE, docs, and the sources its maps name', () => {
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/node.js',
      'bin/parq.js',
      'LICENSE',
    ]) {
      expect(shipped).toContain(f);
    }
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const maps = shipped.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(20);
    const missing = maps.flatMap((m) => {
      const { sources } = JSON.parse(readFileSync(join(installed, m), 'utf8')) as {
        sources: string[];
      };
      return sources
        .map((s) => relative(installed, resolve(dirname(join(installed, m)), s)))
        .filter((s) => !shipped.includes(s));
    });
    expect(missing).toEqual([]);
  });

  it("README's relative links point at files the package ships", () => {
    const links = [...readme.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)]
      .map((m) => m[1])
      .filter((l) => !/^[a-z]+:/i.test(l));
    expect(links.length).toBeGreaterThan(3);
    expect(links.filter((l) => !shipped.includes(l.replace(/^\.\//, '')))).toEqual([]);
  });
});

describe('in a fresh project that installed the tarball', () => {
  it("runs README's first example as pasted: wasm, kernels on 4 levels, a trained model", () => {
    writeFileSync(join(app, 'main.mjs'), fenced(readme, 'js'));
    const t0 = process.hrtime.bigint();
    const r = spawnSync('node', ['main.mjs'], { cwd: app, encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const head = /^backend (\S+), test accuracy ([\d.]+)$/.exec(lines[0]);
    expect(head?.[1]).toBe('wasm');
    expect(Number(head?.[2])).toBeGreaterThan(0.85);
    const kernels = lines.slice(1).map((l) => /: (\d+) distinct values$/.exec(l)?.[1]);
    expect(kernels).toEqual(['4', '4']);
    console.log(`README example: ${seconds.toFixed(1)} s wall`);
  }, 300_000);

  it("type-checks under --strict with the tsconfig the README gives, cli.md's snippet included", () => {
    // docs/cli.md's "From code" snippet, as TypeScript
    const cli = readFileSync(join(root, 'docs', 'cli.md'), 'utf8');
    writeFileSync(join(app, 'from-code.ts'), fenced(cli, 'js', '## From code'));
    const tsconfig = JSON.parse(fenced(readme, 'jsonc')) as { compilerOptions: object };
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const check = (extra: object) => {
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { ...tsconfig.compilerOptions, noEmit: true, ...extra },
          files: ['from-code.ts'],
        }),
      );
      const r = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: app, encoding: 'utf8' });
      return r.stdout.split('\n').filter((l) => /error TS/.test(l));
    };
    expect(check({})).toEqual([]);
    // without skipLibCheck the dependencies' declarations fail, parq-ts's own do not
    const all = check({ skipLibCheck: false });
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((l) => /parq-ts\/|^from-code\.ts/.test(l))).toEqual([]);
  }, 300_000);

  it("installs both bin names, 'parq-ts' (cannot collide with the unrelated npm 'parq') and 'parq'", () => {
    const version = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
    ).version;
    const bin = join(app, 'node_modules', '.bin');
    expect(execFileSync(join(bin, 'parq-ts'), ['--version'], { encoding: 'utf8' }).trim()).toBe(
      version,
    );
    expect(execFileSync(join(bin, 'parq'), ['--help'], { encoding: 'utf8' })).toMatch(
      /conformance/,
    );
  });
});
