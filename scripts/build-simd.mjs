// Assemble src/prox/simd/prox.wat (WebAssembly text, SIMD) into the generated
// src/prox/simd/prox-wasm.ts (the bytes as base64), which is committed so the
// library needs no assembler at run time. test/prox/simd.test.ts checks the
// committed bytes equal a fresh assembly. Usage: node scripts/build-simd.mjs
//
// Two modules come from the one text: the SIMD128 module, and a relaxed-SIMD one in which,
// in PARQ's and BinaryRelax's functions (RELAXED_FUNCTIONS), every pick of a level from the
// nested masks, the telescoping xor chain
// `L0 ^ (m0 & (L0^L1)) ^ (m1 & (L1^L2)) ^ (m2 & (L2^L3))` (two ops a level) and the
// `v128.bitselect` chain (three ops a level on x64), becomes a chain of
// `i32x4.relaxed_laneselect` (one blend a level: vblendvps on x64). Relaxed laneselect is
// implementation-defined only for lanes of a mask that are neither all ones nor all zeros;
// these masks are comparison results, so both modules give the same bits
// (test/prox/simd.test.ts runs again in a relaxed process, test/backend/relaxed-simd.test.ts).
// The library picks the relaxed module where the runtime validates it (src/prox/simd/index.ts).
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import wabtInit from 'wabt';
import { base64Lines, sexpEnd } from './build-wasm-kernels.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WAT_PATH = path.join(root, 'src/prox/simd/prox.wat');
export const TS_PATH = path.join(root, 'src/prox/simd/prox-wasm.ts');

/**
 * The functions whose level picks become laneselects (by export name or $name): PARQ's and
 * BinaryRelax's. Hard quantization keeps the xor chain: its loop is three compares and the
 * picks, and relaxed it measured 0.90-1.14x of SIMD128 (bench/prox-kernel.mjs, EPYC Zen 3),
 * no more than the two modules' identical hard code differs in the same run (0.92-1.09x).
 */
export const RELAXED_FUNCTIONS = ['parq', '$parqV', '$parqCols', 'relax', '$relaxCols'];
/** How many level picks those functions have: xor chains, and bitselects (three a chain). */
export const XOR_CHAINS = 7;
export const BITSELECT_OPS = 6;

// a mask operand: a local, or a comparison of two locals
const MASK = String.raw`\((?:f32x4\.gt \(local\.get \$\w+\) \(local\.get \$\w+\)|local\.get \$\w+)\)`;
const XOR_CHAIN = new RegExp(
  String.raw`\(v128\.xor\s*\(v128\.xor\s*\(local\.get (\$\w+)\)\s*\(v128\.and\s*(${MASK})\s*\(local\.get \$D01\)\)\)\s*` +
    String.raw`\(v128\.xor\s*\(v128\.and\s*(${MASK})\s*\(local\.get \$D12\)\)\s*\(v128\.and\s*(${MASK})\s*\(local\.get \$D23\)\)\)\)`,
  'g',
);

const select = (a, b, m) => `(i32x4.relaxed_laneselect ${a} ${b} ${m})`;

/**
 * One function's text with its level picks as relaxed laneselects. The chain's first operand
 * is level 0 ($L0, or parq's $T0: the same bits), so with nested masks the blends pick
 * m2 ? L3 : m1 ? L2 : m0 ? L1 : L0, as the chain does.
 */
function laneselectPicks(body, counts) {
  const out = body.replace(XOR_CHAIN, (_, first, m0, m1, m2) => {
    counts.chains++;
    const l = (j) => `(local.get $L${j})`;
    return select(l(3), select(l(2), select(l(1), `(local.get ${first})`, m0), m1), m2);
  });
  return out.replace(/\(v128\.bitselect /g, () => {
    counts.bitselects++;
    return '(i32x4.relaxed_laneselect ';
  });
}

/** prox.wat with the level picks of RELAXED_FUNCTIONS as relaxed laneselects. */
export function relaxedProxWat(text) {
  const counts = { chains: 0, bitselects: 0 };
  const head = /\(func (?:\(export "(\w+)"\)|(\$\w+))/g;
  let out = '';
  let from = 0;
  const seen = [];
  for (let m = head.exec(text); m; m = head.exec(text)) {
    const name = m[1] ?? m[2];
    if (!RELAXED_FUNCTIONS.includes(name)) continue;
    const end = sexpEnd(text, m.index);
    const body = laneselectPicks(text.slice(m.index, end), counts);
    if (/\(local\.get \$D(01|12|23)\)/.test(body))
      throw new Error(`prox.wat: ${name} has a level pick that is not in the chain form`);
    out += text.slice(from, m.index) + body;
    from = end;
    head.lastIndex = end;
    seen.push(name);
  }
  const missing = RELAXED_FUNCTIONS.filter((f) => !seen.includes(f));
  if (missing.length) throw new Error(`prox.wat: no function ${missing.join(', ')}`);
  if (counts.chains !== XOR_CHAINS || counts.bitselects !== BITSELECT_OPS)
    throw new Error(
      `prox.wat: ${counts.chains} xor chains and ${counts.bitselects} bitselects rewritten, ` +
        `expected ${XOR_CHAINS} and ${BITSELECT_OPS} (update the counts with the text)`,
    );
  return out + text.slice(from);
}

/** The module's bytes, assembled from prox.wat (`relaxed`: the relaxed-SIMD module). */
export async function assembleProx({ relaxed = false } = {}) {
  const wabt = await wabtInit();
  const text = readFileSync(WAT_PATH, 'utf8');
  const mod = wabt.parseWat('prox.wat', relaxed ? relaxedProxWat(text) : text, {
    simd: true,
    relaxed_simd: relaxed,
  });
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

/** The generated TypeScript source for given bytes (SIMD128 and relaxed). */
export function proxWasmSource(bytes, relaxedBytes) {
  return [
    '// Generated by scripts/build-simd.mjs from prox.wat: do not edit.',
    '/** The fused prox kernel module (prox.wat), base64. */',
    'export const PROX_WASM_BASE64 =',
    ...base64Lines(bytes),
    '/** The same module with the level picks as relaxed laneselects, base64. */',
    'export const PROX_RELAXED_WASM_BASE64 =',
    ...base64Lines(relaxedBytes),
    '',
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bytes = await assembleProx();
  const relaxed = await assembleProx({ relaxed: true });
  const tmp = `${TS_PATH}.tmp`;
  writeFileSync(tmp, proxWasmSource(bytes, relaxed));
  renameSync(tmp, TS_PATH);
  console.log(
    `${path.relative(root, TS_PATH)}: ${bytes.length} bytes, relaxed ${relaxed.length} bytes`,
  );
}
