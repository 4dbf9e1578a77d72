// The SIMD module behind the wasm kernels (src/backend/wasm/simd): the committed bytes are
// a fresh assembly of kernels.wat; Sum / Mean over leading axes (replaced on wasm,
// computed by its colsum), Multiply and Add broadcast over leading axes (mulrows, addrows) equal the cpu
// backend. The filter gradient's SIMD path is tested
// with the other formulations in conv-kernels.test.ts.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendWasm } from '../../src/backend/wasm/kernel-utils.js';
import { leadingSplit } from '../../src/backend/wasm/leading-reduction.js';
import { rowBroadcast } from '../../src/backend/wasm/row-broadcast.js';
import {
  registerWasmTrainingKernels,
  replaceSlowWasmKernels,
} from '../../src/backend/wasm/register.js';
import {
  KERNELS_RELAXED_WASM_BASE64,
  KERNELS_WASM_BASE64,
} from '../../src/backend/wasm/simd/kernels-wasm.js';
import {
  simdKernelsFor,
  simdKernelsSwitch,
  simdKernelVariant,
} from '../../src/backend/wasm/simd/index.js';
import { expectSameOnCpuAndWasm, randomArray } from './compare.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  replaceSlowWasmKernels();
});

describe('the SIMD kernels module', () => {
  it('is the assembly of kernels.wat (run scripts/build-wasm-kernels.mjs after editing it)', async () => {
    const script = pathToFileURL(
      path.resolve(__dirname, '../../scripts/build-wasm-kernels.mjs'),
    ).href;
    const { assembleKernels } = await import(script);
    const fresh: Uint8Array = await assembleKernels();
    const committed = Buffer.from(KERNELS_WASM_BASE64, 'base64');
    expect(committed.equals(Buffer.from(fresh))).toBe(true);
    const relaxed: Uint8Array = await assembleKernels({ relaxed: true });
    expect(Buffer.from(KERNELS_RELAXED_WASM_BASE64, 'base64').equals(Buffer.from(relaxed))).toBe(
      true,
    );
  });

  it('fuses exactly the multiply-adds of the GEMM loops in the relaxed module', async () => {
    const script = pathToFileURL(
      path.resolve(__dirname, '../../scripts/build-wasm-kernels.mjs'),
    ).href;
    const { relaxedKernelsWat, RELAXED_FUNCTIONS, WAT_PATH } = await import(script);
    const { readFileSync } = await import('node:fs');
    const text: string = readFileSync(WAT_PATH, 'utf8');
    const relaxed: string = relaxedKernelsWat(text);
    const funcs = (t: string) => t.split(/(?=\n {2}\(func )/);
    const before = funcs(text);
    const after = funcs(relaxed);
    expect(after.length).toBe(before.length);
    after.forEach((f, i) => {
      const name = /\(func \$(\w+)/.exec(f)?.[1] ?? '';
      const fused = (f.match(/relaxed_madd/g) ?? []).length;
      if (!RELAXED_FUNCTIONS.includes(name)) expect(f).toBe(before[i]);
      else {
        // each fused op replaced one add and one mul, nothing else changed
        expect(fused).toBeGreaterThan(0);
        const count = (t: string, op: string) => t.split(op).length - 1;
        expect(count(before[i], 'f32x4.mul') - count(f, 'f32x4.mul')).toBe(fused);
        expect(count(before[i], 'f32x4.add') - count(f, 'f32x4.add')).toBe(fused);
      }
    });
  });

  it('runs the SIMD128 module where this runtime has no relaxed SIMD, and where switched off', () => {
    const relaxedHere = WebAssembly.validate(Buffer.from(KERNELS_RELAXED_WASM_BASE64, 'base64'));
    expect(simdKernelVariant()).toBe(relaxedHere ? 'relaxed' : 'simd128');
    simdKernelsSwitch.relaxed = false;
    try {
      expect(simdKernelVariant()).toBe('simd128');
    } finally {
      simdKernelsSwitch.relaxed = true;
    }
  });

  it('instantiates on the single-threaded backend heap', async () => {
    await tf.setBackend('wasm');
    expect(simdKernelsFor(tf.backend() as BackendWasm)).not.toBeNull();
  });
});

describe('sum4 (exact sums in sumRange order)', () => {
  const f32 = Math.fround;
  /** The JavaScript four-way sum (exact-reduction.ts sumRange, lsbq-kernel.ts) of a term. */
  const fourWay = (x: Float32Array, g: (w: number) => number) => {
    const s = [0, 0, 0, 0];
    for (let i = 0; i < x.length; i++) s[i % 4] += g(x[i]);
    return s[0] + s[1] + (s[2] + s[3]);
  };
  it('adds the values, |x| and | |x| - v | to the JavaScript sums bit for bit', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const simd = simdKernelsFor(backend);
    expect(simd).not.toBeNull();
    const v = f32(0.3);
    const terms = [
      (w: number) => w,
      (w: number) => Math.abs(w),
      (w: number) => Math.abs(f32(Math.abs(w) - v)),
    ];
    const special = [0, -0, 1e-40, -1e-40, 3e38, -3e38, v, -v, 0.1, -0.7];
    for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 9, 64, 1001, 40003]) {
      const values = Float32Array.from(randomArray(n, n + 1), (w, i) =>
        i % 7 === 0 ? special[i % special.length] : w,
      );
      const t = tf.tensor1d(values);
      const address = (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
      for (const mode of [0, 1, 2]) {
        const got = simd!.sum4(address, n, mode, v);
        expect(Object.is(got, fourWay(values, terms[mode])), `n ${n} mode ${mode}`).toBe(true);
      }
      t.dispose();
    }
  });
  it('gives NaN for a NaN and the infinite sum for an infinity, as JavaScript does', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const simd = simdKernelsFor(backend)!;
    for (const [bad, want] of [
      [NaN, NaN],
      [Infinity, Infinity],
      [-Infinity, -Infinity],
    ]) {
      for (const at of [0, 5, 6]) {
        const values = new Float32Array(7).fill(0.5);
        values[at] = bad;
        const t = tf.tensor1d(values);
        const address = (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
        expect(simd.sum4(address, 7, 0, 0)).toBe(want);
        t.dispose();
      }
    }
  });
});

describe('leadingSplit', () => {
  it('sees a reduction over leading axes as [rows, cols]', () => {
    expect(leadingSplit([4, 5, 6, 7], [0, 1, 2])).toEqual({
      rows: 120,
      cols: 7,
      outShape: [7],
      keptShape: [1, 1, 1, 7],
    });
    expect(leadingSplit([4, 5, 6], [1, 0])?.rows).toBe(20);
  });

  it('declines other axes and full reductions', () => {
    expect(leadingSplit([4, 5, 6], [1, 2])).toBeNull();
    expect(leadingSplit([4, 5, 6], [0, 2])).toBeNull();
    expect(leadingSplit([4, 5, 6], [0, 1, 2])).toBeNull();
  });
});

describe('Sum and Mean on wasm (replaced)', () => {
  const cases: Array<[number[], number[]]> = [
    [
      [64, 8, 8, 16],
      [0, 1, 2],
    ], // batch norm, 4096 rows: many chunks of 256
    [
      [3, 5, 7, 6],
      [0, 1, 2],
    ], // 6 channels: a vector and two scalar columns
    [
      [2, 3, 5, 64],
      [0, 1, 2],
    ],
    [[300, 9], [0]],
    [
      [7, 4, 5],
      [0, 1],
    ],
    [
      [1, 1, 1, 32],
      [0, 1, 2],
    ], // one row
    [
      [6, 3, 4],
      [1, 2],
    ], // not leading: the stock kernel
    [[5, 3], [0]], // 3 columns: the stock kernel
  ];
  for (const [shape, axes] of cases) {
    for (const keepDims of [false, true]) {
      const name = `[${shape.join(',')}] over [${axes.join(',')}]${keepDims ? ', keepDims' : ''}`;
      const v = randomArray(tf.util.sizeFromShape(shape), shape.length * 13 + shape[0]);
      it(`sum equals cpu: ${name}`, async () => {
        await expectSameOnCpuAndWasm(() => tf.sum(tf.tensor(v, shape), axes, keepDims));
      });
      it(`mean equals cpu: ${name}`, async () => {
        await expectSameOnCpuAndWasm(() => tf.mean(tf.tensor(v, shape), axes, keepDims));
      });
    }
  }

  it('keeps the reduced axes as 1s with keepDims, drops them without', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([4, 3, 2, 8]);
    expect(tf.sum(x, [0, 1, 2], true).shape).toEqual([1, 1, 1, 8]);
    expect(tf.mean(x, [0, 1], false).shape).toEqual([2, 8]);
    expect(Array.from(tf.mean(x, [0, 1, 2]).dataSync())).toEqual(new Array(8).fill(1));
    expect(Array.from(tf.sum(x, [0, 1, 2]).dataSync())).toEqual(new Array(8).fill(24));
    x.dispose();
  });

  it('sums int32 tensors with the stock kernel', async () => {
    await expectSameOnCpuAndWasm(() =>
      tf.cast(tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], 'int32'), 0), 'float32'),
    );
  });
});

describe('Multiply on wasm (replaced)', () => {
  it('sees a broadcast over leading axes as [rows, cols]', () => {
    expect(rowBroadcast([4, 5, 6, 8], [8])).toEqual({ rows: 120, cols: 8 });
    expect(rowBroadcast([4, 5, 6, 8], [1, 1, 1, 8])).toEqual({ rows: 120, cols: 8 });
    expect(rowBroadcast([4, 5, 6], [4, 5, 6])).toEqual({ rows: 1, cols: 120 });
    expect(rowBroadcast([4, 5, 6], [5, 1])).toBeNull();
    expect(rowBroadcast([6], [1, 6])).toBeNull();
  });

  const cases: Array<[number[], number[]]> = [
    [[64, 8, 8, 16], [16]], // batch norm scale
    [
      [1, 1, 1, 32],
      [64, 4, 4, 32],
    ], // its gradient, small operand first
    [
      [3, 5, 7, 6],
      [3, 5, 7, 6],
    ], // same shapes, 630 values
    [[7, 9], [9]], // 9 columns: two vectors and a scalar
    [
      [2, 3, 5],
      [1, 5],
    ],
    [[5, 3], [3]], // 3 columns: stock
    [
      [4, 6],
      [4, 1],
    ], // broadcast over the last axis: stock
    [[], [4, 4]], // scalar: stock
  ];
  for (const [sa, sb] of cases) {
    it(`equals cpu: [${sa.join(',')}] * [${sb.join(',')}]`, async () => {
      const av = randomArray(tf.util.sizeFromShape(sa), sa.length * 3 + 1);
      const bv = randomArray(tf.util.sizeFromShape(sb), sb.length * 5 + 2);
      await expectSameOnCpuAndWasm(() => tf.mul(tf.tensor(av, sa), tf.tensor(bv, sb)));
    });
  }

  it('gives the broadcast shape, and multiplies int32 with the stock kernel', async () => {
    await tf.setBackend('wasm');
    const p = tf.mul(tf.ones([1, 1, 1, 8]), tf.fill([2, 2, 2, 8], 3));
    expect(p.shape).toEqual([2, 2, 2, 8]);
    expect(Array.from(p.dataSync())).toEqual(new Array(64).fill(3));
    const q = tf.mul(
      tf.tensor1d([1, 2, 3, 4], 'int32'),
      tf.tensor2d([1, 1, 1, 1, 2, 2, 2, 2], [2, 4], 'int32'),
    );
    expect(Array.from(q.dataSync())).toEqual([1, 2, 3, 4, 2, 4, 6, 8]);
    tf.dispose([p, q]);
  });
});

describe('Add on wasm (replaced)', () => {
  const cases: Array<[number[], number[]]> = [
    [[64, 28, 28, 6], [6]], // LeNet-5's first bias
    [[16], [64, 10, 10, 16]], // small operand first
    [
      [1, 1, 1, 32],
      [3, 4, 4, 32],
    ],
    [[7, 9], [9]], // 9 columns: two vectors and a scalar
    [
      [2, 3, 5],
      [1, 5],
    ],
    [
      [3, 5, 7, 6],
      [3, 5, 7, 6],
    ], // same shapes: stock
    [[5, 3], [3]], // 3 columns: stock
    [
      [4, 6],
      [4, 1],
    ], // broadcast over the last axis: stock
    [
      [3, 4],
      [1, 1, 4],
    ], // the small operand of higher rank: stock
    [[], [4, 4]], // scalar: stock
  ];
  for (const [sa, sb] of cases) {
    it(`equals cpu: [${sa.join(',')}] + [${sb.join(',')}]`, async () => {
      const av = randomArray(tf.util.sizeFromShape(sa), sa.length * 7 + 3);
      const bv = randomArray(tf.util.sizeFromShape(sb), sb.length * 11 + 4);
      await expectSameOnCpuAndWasm(() => tf.add(tf.tensor(av, sa), tf.tensor(bv, sb)));
    });
  }

  it('gives the broadcast shape, adds int32 with the stock kernel, and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const inputs = [
      tf.ones([1, 1, 1, 8]),
      tf.fill([2, 2, 2, 8], 3),
      tf.tensor1d([1, 2, 3, 4], 'int32'),
      tf.tensor2d([1, 1, 1, 1, 2, 2, 2, 2], [2, 4], 'int32'),
    ];
    const before = tf.memory().numTensors;
    const dataIds = (tf.backend() as BackendWasm).numDataIds();
    const p = tf.add(inputs[0], inputs[1]);
    expect(p.shape).toEqual([2, 2, 2, 8]);
    expect(Array.from(p.dataSync())).toEqual(new Array(64).fill(4));
    const q = tf.add(inputs[2], inputs[3]);
    expect(q.dtype).toBe('int32');
    expect(Array.from(q.dataSync())).toEqual([2, 3, 4, 5, 3, 4, 5, 6]);
    tf.dispose([p, q]);
    expect(tf.memory().numTensors).toBe(before);
    expect((tf.backend() as BackendWasm).numDataIds()).toBe(dataIds);
    tf.dispose(inputs);
  });
});
