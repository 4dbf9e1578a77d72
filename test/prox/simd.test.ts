import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyProxMode,
  composedProx,
  LSBQuantizer,
  type ProxMode,
  TernaryUnifQuantizer,
} from '../../src/index.js';
import { PROX_RELAXED_WASM_BASE64, PROX_WASM_BASE64 } from '../../src/prox/simd/prox-wasm.js';
import {
  heapMemoryOf,
  type ProxTables,
  SimdProx,
  simdProxFor,
  simdProxModule,
  simdProxOn,
  simdProxVariant,
  simdStats,
} from '../../src/prox/simd/index.js';
import { PROX_MODES } from '../../src/prox/kernel-modes.js';
import { normals, useBackend } from '../helpers.js';

/** Distance in float32 units in the last place (0 for +0 vs -0). */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  const ord = (i: number) => (i < 0 ? -(i & 0x7fffffff) : i);
  return Math.abs(ord(bits[0]) - ord(bits[1]));
}

function maxUlps(x: ArrayLike<number>, y: ArrayLike<number>): number {
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, ulps(x[i], y[i]));
  return m;
}

function maxAbs(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

const CASES: [ProxMode, number][] = [
  ['hard', 0],
  ['parq', 1],
  ['parq', 0.37],
  ['parq', 1e-3],
  ['parq', 1e-30],
  ['relax', 0.3],
  ['relax', 0.77],
];

/** Weights: normals plus each level and midpoint exactly (ties), for a group of n. */
function weights(n: number, seed: number, levels: number[]): Float32Array {
  const w = normals(n, seed, 0.8);
  const special = [...levels];
  for (let j = 0; j + 1 < levels.length; j++)
    special.push(Math.fround(Math.fround(levels[j] + levels[j + 1]) * 0.5));
  for (let i = 0; i < Math.min(n, special.length); i++) w[(i * 7) % n] = special[i];
  return w;
}

/** Level sets [A, k]: LSBQ 1 and 2 bits fitted to the weights, and a ternary set. */
function levelSets(w: Float32Array): [string, number[]][] {
  const lsbq = (bits: number) =>
    tf.tidy(() => {
      const { Q } = new LSBQuantizer().quantize(tf.tensor3d(w, [1, w.length, 1]), bits);
      return Array.from(Q.dataSync());
    });
  return [
    ['lsbq 1 bit', lsbq(1)],
    ['lsbq 2 bits', lsbq(2)],
    ['ternary', [-0.6, 0, 0.6]],
  ];
}

/** Fused (SIMD where it applies) vs composed tfjs ops: the largest ulp distance. */
function compare(
  w: Float32Array,
  shape: [number, number, number],
  Q: number[],
  mode: ProxMode,
  param: number,
) {
  return tf.tidy(() => {
    const x = tf.tensor3d(w, shape);
    const k = Q.length / (shape[0] * shape[2]);
    const q = tf.tensor3d(Q, [shape[0], k, shape[2]]);
    const fused = applyProxMode(x, q, mode, param).dataSync();
    const composed = composedProx(x, q, mode, param).dataSync();
    return { ulps: maxUlps(fused, composed), abs: maxAbs(fused, composed) };
  });
}

describe('WebAssembly SIMD prox kernel (wasm backend)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('the committed modules are fresh assemblies of prox.wat (SIMD128 and relaxed)', async () => {
    const script = pathToFileURL(path.resolve(__dirname, '../../scripts/build-simd.mjs')).href;
    const { assembleProx } = await import(script);
    for (const [relaxed, base64] of [
      [false, PROX_WASM_BASE64],
      [true, PROX_RELAXED_WASM_BASE64],
    ] as const) {
      const fresh: Uint8Array = await assembleProx({ relaxed });
      const committed = Uint8Array.from(Buffer.from(base64, 'base64'));
      expect(Buffer.from(committed).equals(Buffer.from(fresh)), `relaxed ${relaxed}`).toBe(true);
    }
  });

  // The relaxed module differs only in how it picks levels (laneselect on comparison masks):
  // the same bits as SIMD128 on every input, NaN, infinities, zeros, ties, denormals included.
  // Runs where the runtime validates relaxed SIMD (test/backend/relaxed-simd.test.ts imports
  // this file in a process that turns it on).
  it.skipIf(!WebAssembly.validate(Buffer.from(PROX_RELAXED_WASM_BASE64, 'base64')))(
    "the relaxed module gives the SIMD128 module's bits, every mode, run and lanes",
    () => {
      const memory = new WebAssembly.Memory({ initial: 2 });
      const relaxed = simdProxModule(memory, 'relaxed');
      const simd128 = simdProxModule(memory, 'simd128');
      expect(relaxed).not.toBeNull();
      expect(simd128).not.toBeNull();
      const f = new Float32Array(memory.buffer);
      const bits = new Uint32Array(memory.buffer);
      const sets = [[-0.6, 0, 0.6], [-1, -0.25, 0.25, 1], [-0.5, 0.5], [0.3], [-1, 0, 0, 1]];
      const special = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3e38, -3e38, 1e-20];
      const n = 203; // 50 blocks of four and a tail of three
      const X = 0,
        OUT = 4096,
        LEV = 8192; // byte addresses (n floats fit in 1024 bytes)
      const cases: [number, number][] = [
        [PROX_MODES.hard, 0],
        [PROX_MODES.parq, 0.37],
        [PROX_MODES.parq, 1e-30],
        [PROX_MODES.relax, 0.3],
      ];
      let compared = 0;
      for (const lv of sets) {
        const k = lv.length;
        const mids = lv.slice(1).map((l, j) => Math.fround(Math.fround(lv[j] + l) * 0.5));
        const w = normals(n, k, 0.8);
        [...special, ...lv, ...mids].forEach((v, i) => (w[(i * 11) % n] = v));
        for (const [mode, param] of cases) {
          const thresholds = mode === PROX_MODES.parq ? lv : mids;
          const th = new Float64Array(4).fill(Infinity);
          thresholds.forEach((t, i) => (th[i] = t));
          const g: ProxTables = { lv: Float32Array.from(lv), th };
          const out = (simd: typeof relaxed) => {
            f.set(w, X / 4);
            simd!.run(mode, X, OUT, n, g, param);
            const contiguous = Array.from(bits.subarray(OUT / 4, OUT / 4 + n));
            // lanes: the same weights as a view [1, 29, 7] (a block of four channels and
            // three one-channel tails), every channel with these levels
            const C = 7;
            for (let j = 0; j < k; j++) for (let c = 0; c < C; c++) f[LEV / 4 + j * C + c] = lv[j];
            simd!.lanes(mode, X, OUT, [1, n / C, C], LEV, k, param);
            return [contiguous, Array.from(bits.subarray(OUT / 4, OUT / 4 + n))];
          };
          const [a, b] = [out(relaxed), out(simd128)];
          expect(a[0], `run: levels ${lv} mode ${mode} ${param}`).toEqual(b[0]);
          expect(a[1], `lanes: levels ${lv} mode ${mode} ${param}`).toEqual(b[1]);
          compared++;
        }
      }
      expect(compared).toBe(sets.length * cases.length);
    },
  );

  // Where both modules run, PARQ's and BinaryRelax's calls go to the one their first calls
  // timed faster (src/prox/simd/variant-tuner.ts): every call gives the SIMD128 bits, and the
  // calls of one kind settle on one module.
  it.skipIf(!WebAssembly.validate(Buffer.from(PROX_RELAXED_WASM_BASE64, 'base64')))(
    'with both modules: timed calls settle on one, every call the SIMD128 bits',
    () => {
      const memory = new WebAssembly.Memory({ initial: 4 });
      const tuned = simdProxOn(memory, 'relaxed') as SimdProx;
      const alone = simdProxModule(memory, 'simd128') as SimdProx;
      expect(tuned).toBeInstanceOf(SimdProx);
      const n = 20000; // over the tuner's 16384: timed
      const [X, A, B] = [0, 4 * n, 8 * n];
      const f = new Float32Array(memory.buffer);
      const bits = new Uint32Array(memory.buffer);
      f.set(normals(n, 5, 0.8), 0);
      const lv = Float32Array.from([-1, -0.25, 0.25, 1]);
      const g: ProxTables = { lv, th: Float64Array.from(lv) };
      const gRelax: ProxTables = { lv, th: Float64Array.from([-0.625, 0, 0.625, Infinity]) };
      for (const [mode, param, tables] of [
        [PROX_MODES.parq, 0.37, g],
        [PROX_MODES.relax, 0.3, gRelax],
      ] as const) {
        expect(tuned.variant(mode, false, n)).toBe('timing');
        expect(tuned.variant(mode, false, 100)).toBe('simd128'); // small calls, untimed
        for (let call = 0; call < 40; call++) {
          tuned.run(mode, X, A, n, tables, param);
          alone.run(mode, X, B, n, tables, param);
          const a = bits.subarray(A / 4, A / 4 + n);
          const b = bits.subarray(B / 4, B / 4 + n);
          expect(
            Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
              Buffer.from(b.buffer, b.byteOffset, b.byteLength),
            ),
            `mode ${mode} call ${call}`,
          ).toBe(true);
        }
        // 4 warm + 8 timed calls of each module: decided by now
        expect(['relaxed', 'simd128']).toContain(tuned.variant(mode, false, n));
        expect(tuned.variant(mode, true, n)).toBe('timing'); // lanes decide on their own
      }
      expect(tuned.variant(PROX_MODES.hard, false, n)).toBe('simd128');
    },
  );

  it('instantiates on the backend heap (Node 20 has SIMD)', () => {
    const backend = tf.backend() as unknown as { wasm: unknown };
    const simd = simdProxFor(backend.wasm);
    expect(simd).not.toBeNull();
    expect(simdProxVariant()).not.toBeNull();
    expect(heapMemoryOf(backend.wasm)).toBeInstanceOf(WebAssembly.Memory);
    expect(heapMemoryOf({})).toBeNull();
    expect(simdProxFor(backend.wasm)).toBe(simd); // cached per memory
    expect(simdProxFor({})).toBeNull();
  });

  // Exact for every case on Node 20's wasm backend: the same float32 ops in the same order.
  it('per tensor: equals the composed ops exactly, n = 1..9, tails, 1003 and 4096', () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 1003, 4096]) {
      const w = weights(n, n, [-0.6, 0, 0.6]);
      for (const [name, Q] of levelSets(w)) {
        const wq = n < 16 ? weights(n, n + 1, Q) : w;
        for (const [mode, param] of CASES) {
          const before = simdStats.groups;
          const d = compare(wq, [1, n, 1], Q, mode, param).ulps;
          expect(simdStats.groups - before, `${name} ${mode} ${param} n=${n}: SIMD path`).toBe(1);
          expect(d, `${name} ${mode} ${param} n=${n}: ulps`).toBe(0);
        }
      }
    }
  });

  it('blocks of contiguous groups (C = 1, A > 1): one SIMD call per group, exact', () => {
    const A = 5;
    const M = 37;
    const w = normals(A * M, 9, 0.5);
    const Q: number[] = [];
    for (let a = 0; a < A; a++) Q.push(-0.5 - 0.1 * a, -0.1, 0.15 * a, 0.7);
    for (const [mode, param] of CASES) {
      const before = simdStats.groups;
      expect(compare(w, [A, M, 1], Q, mode, param).ulps, `${mode} ${param}`).toBe(0);
      expect(simdStats.groups - before).toBe(A);
    }
  });

  // Per channel on tfjs kernels [in, out] (channel = last axis): the view
  // [A, M, C], levels [A, k, C] fitted per channel; C % 4 tails and blocks (A > 1).
  it('per channel (C > 1): one lanes call per view, exact, C = 2..9, 16, 256, A = 1, 3', () => {
    const M = 37;
    const fit = (view: tf.Tensor3D, name: string) =>
      name === 'ternary'
        ? new TernaryUnifQuantizer().quantize(view, 0)
        : new LSBQuantizer().quantize(view, name === 'lsbq 1 bit' ? 1 : 2);
    for (const C of [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 256]) {
      for (const A of [1, 3]) {
        const shape: [number, number, number] = [A, M, C];
        const w = normals(A * M * C, C * 10 + A, 0.5);
        for (const name of ['lsbq 1 bit', 'ternary', 'lsbq 2 bits']) {
          const Q = tf.tidy(() => Array.from(fit(tf.tensor3d(w, shape), name).Q.dataSync()));
          const k = Q.length / (A * C);
          expect(k, name).toBe(name === 'lsbq 1 bit' ? 2 : name === 'ternary' ? 3 : 4);
          // ties: each channel's levels and midpoints, exactly, in its first rows
          const wt = w.slice();
          for (let a = 0; a < A; a++)
            for (let c = 0; c < C; c++) {
              const lv = Array.from({ length: k }, (_, j) => Q[(a * k + j) * C + c]);
              const mids = lv.slice(1).map((l, j) => Math.fround(Math.fround(lv[j] + l) * 0.5));
              [...lv, ...mids].forEach((v, r) => (wt[(a * M + r) * C + c] = v));
            }
          for (const [mode, param] of CASES) {
            const label = `${name} ${mode} ${param} A=${A} C=${C}`;
            const before = { ...simdStats };
            expect(compare(wt, shape, Q, mode, param).ulps, `${label}: ulps`).toBe(0);
            // C = 1 is contiguous: one `run` per group; otherwise one `lanes` call
            expect(simdStats.lanes - before.lanes, `${label}: lanes`).toBe(C > 1 ? 1 : 0);
            expect(simdStats.groups - before.groups, `${label}: groups`).toBe(C > 1 ? 0 : A);
          }
        }
      }
    }
  });

  it('keeps the JavaScript loop for more levels and SoftQuant', () => {
    const w = normals(6 * 40, 3, 0.5);
    const eight = [-1, -0.7, -0.4, -0.1, 0.1, 0.4, 0.7, 1];
    // [1, 5, 3]: five levels per channel, ascending along k
    const ch5 = Array.from({ length: 15 }, (_, i) => -1 + 0.4 * Math.floor(i / 3) + 0.1 * (i % 3));
    const cases: [[number, number, number], number[], ProxMode, number][] = [
      [[1, 80, 3], ch5, 'parq', 0.37],
      [[1, 80, 3], ch5.map((v) => v * 0.5), 'hard', 0],
      [[1, 240, 1], eight, 'hard', 0],
      [[1, 240, 1], [-0.5, 0.5], 'soft', 5],
    ];
    for (const [shape, Q, mode, param] of cases) {
      const before = { ...simdStats };
      // the JS loop's own tolerance (test/prox/prox-maps.test.ts): it rounds in double
      expect(compare(w, shape, Q, mode, param).abs, `${mode} ${shape}`).toBeLessThan(1e-6);
      expect(simdStats).toEqual(before);
    }
  });
});
