// The WebGPU backend (src/backend/webgpu.ts). Where Dawn finds no adapter (CI, this machine)
// the fallback is tested; where one exists the GPU path is: the WGSL prox kernel and fused
// step against the cpu kernels, and QAT steps of every quantizer and prox map (and ADMM-Q) against cpu, with no
// GPU->CPU read inside a step and no tensor left behind. A software adapter works for the
// latter: Mesa's llvmpipe through Dawn's OpenGL ES backend,
//   EGL_PLATFORM=surfaceless WEBGPU_DAWN_FLAGS=backend=opengles npx vitest run test/backend-webgpu
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { setupWebGPU, webgpuAdapter } from '../../src/backend/webgpu.js';
import { selectBackend } from '../../src/backend/select.js';
import { PROX_KERNEL, proxLoop } from '../../src/prox/fused-kernel.js';
import { FUSED_STEP_KERNEL, fusedStepRuns } from '../../src/optim/fused-step.js';
import { FusedBaseOptimizer } from '../../src/optim/fused-base.js';
import { ProxHardQuant } from '../../src/prox/proxmap.js';
import { ProxPARQ } from '../../src/prox/parq.js';
import { ProxBinaryRelax } from '../../src/prox/binary-relax.js';
import { ProxSoftQuant } from '../../src/prox/soft-quant.js';
import type { ProxMap } from '../../src/prox/proxmap.js';
import { quantizerByName } from '../../src/quant/registry.js';
import { QuantOptimizer } from '../../src/optim/quant-optimizer.js';
import { ADMMQOptimizer } from '../../src/optim/admm/admmq-optimizer.js';
import { tensorAgrees } from '../../src/conformance/compare.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureBuilt, ROOT } from '../cli/helpers.js';
import { countKernel } from '../helpers.js';

/** No GPU device node on this Linux machine (then setupWebGPU does not probe Dawn). */
const noGpuDevice =
  process.platform === 'linux' &&
  !['/dev/dri', '/dev/nvidiactl', '/dev/nvidia0', '/dev/kfd', '/dev/dxg'].some((d) =>
    existsSync(d),
  );

await tf.setBackend('cpu');
const setup = await setupWebGPU();
await tf.setBackend('cpu');

describe.runIf(!setup.ok)('webgpu without an adapter', () => {
  it('setupWebGPU says why in one line and changes nothing', async () => {
    const r = await setupWebGPU();
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/no WebGPU adapter|not installed|cannot load Dawn/);
    expect(r.reason).not.toContain('\n');
    expect(tf.getBackend()).toBe('cpu');
    // the backend module was not loaded half-way: nothing named webgpu was registered
    expect(tf.findBackendFactory('webgpu')).toBeFalsy();
    expect(webgpuAdapter()).toBeNull();
  });

  it("selectBackend('webgpu') falls back to wasm with a notice naming the reason", async () => {
    const sel = await selectBackend('webgpu');
    expect(sel.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(sel.notice).toBe(
      `webgpu: not available (${(setup as { reason: string }).reason}), using wasm`,
    );
  });

  it("selectBackend('auto') uses wasm, quietly", async () => {
    await tf.setBackend('cpu');
    expect(await selectBackend('auto')).toEqual({ backend: 'wasm' });
  });

  it.runIf(noGpuDevice)(
    'with no GPU device node, says so without probing Dawn (no Vulkan warnings on stderr)',
    () => {
      ensureBuilt();
      const env = { ...process.env };
      delete env.WEBGPU_DAWN_FLAGS;
      delete env.WEBGPU_NODE;
      delete env.VK_ICD_FILENAMES;
      delete env.VK_DRIVER_FILES;
      const r = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "import { setupWebGPU } from './dist/backend/webgpu.js'; console.log(JSON.stringify(await setupWebGPU()));",
        ],
        { cwd: ROOT, env, encoding: 'utf8' },
      );
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        ok: false,
        reason: expect.stringMatching(/^no WebGPU adapter found \(no GPU device: /),
      });
      expect(r.stderr).toBe(''); // Dawn was not loaded: none of its Vulkan / XDG lines
    },
  );

  it('names a dawn.node that cannot be loaded', async () => {
    vi.resetModules(); // a fresh module: Dawn not loaded yet
    const fresh = await import('../../src/backend/webgpu.js');
    const r = await fresh.setupWebGPU({ dawnPath: '/nonexistent/dawn.node' });
    expect(r).toMatchObject({ ok: false });
    expect((r as { reason: string }).reason).toMatch(
      /^cannot load Dawn from '\/nonexistent\/dawn\.node': /,
    );
    expect((r as { reason: string }).reason).not.toContain('\n');
  });
});

/** Counts GPU->CPU reads: every read of the webgpu backend maps a staging buffer here. */
function countReads(): () => number {
  const be = tf.findBackend('webgpu') as unknown as { getBufferData(b: unknown): Promise<unknown> };
  let n = 0;
  const read = be.getBufferData.bind(be);
  be.getBufferData = (b: unknown) => {
    n++;
    return read(b);
  };
  return () => n;
}

// .ci/run sets PARQ_EXPECT_WEBGPU=1 where it provides a software adapter (SwiftShader): there
// the GPU tests below must run, not skip.
it.runIf(process.env.PARQ_EXPECT_WEBGPU === '1')(
  'an adapter was found, as this run expects',
  () => {
    expect(setup).toMatchObject({ ok: true });
  },
);

describe.runIf(setup.ok)('on a WebGPU adapter', () => {
  it('the WGSL prox kernel computes what the cpu kernel does', async () => {
    await tf.setBackend('webgpu');
    tf.env().set('WEBGPU_CPU_FORWARD', false); // small tensors too run on the GPU
    expect(tf.getKernel(PROX_KERNEL, 'webgpu')).toBeDefined();
    const modes = [
      ['hard', 0, 0],
      ['parq', 0.3, 1],
      ['parq', 1.2e-38, 1],
      ['relax', 0.4, 2],
      ['soft', 5, 3],
    ] as const;
    for (const [A, M, C, k] of [
      [1, 200, 1, 2],
      [2, 37, 5, 3],
      [3, 20, 4, 4],
      [1, 64, 3, 16],
    ]) {
      const levels = new Float32Array(A * k * C);
      for (let i = 0; i < levels.length; i++) levels[i] = ((i * 7919) % 13) / 6 - 1;
      // ascending along k, per group
      for (let a = 0; a < A; a++) {
        for (let c = 0; c < C; c++) {
          const col = Array.from({ length: k }, (_, j) => levels[a * k * C + j * C + c]).sort(
            (u, v) => u - v,
          );
          col.forEach((v, j) => (levels[a * k * C + j * C + c] = v + j * 1e-3));
        }
      }
      const x = new Float32Array(A * M * C);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 1.5;
      x[0] = levels[0]; // on a level
      x[1] = Math.fround((levels[0] + levels[C]) / 2); // on a midpoint
      for (const [mode, param, code] of modes) {
        const expected = new Float32Array(x.length);
        proxLoop(x, levels, [A, M, C], k, code, param, expected);
        const out = tf
          .engine()
          .runKernel(
            PROX_KERNEL,
            { x: tf.tensor3d(x, [A, M, C]), levels: tf.tensor3d(levels, [A, k, C]) },
            { mode: code, param } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        const got = await out.data();
        out.dispose();
        const label = `${mode} ${param} [${A},${M},${C}] k=${k}`;
        expect(tensorAgrees(got, Array.from(expected), 0), label).toBe(true);
      }
    }
    tf.env().set('WEBGPU_CPU_FORWARD', true);
  });

  it('the WGSL fused step computes what the cpu kernel does', async () => {
    const shape = [24, 16];
    const n = 24 * 16;
    const wave = (seed: number, scale: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * scale);
    const levels = new Float32Array(4 * 16);
    for (let c = 0; c < 16; c++)
      [-0.6, -0.2, 0.25, 0.7].forEach((v, j) => (levels[j * 16 + c] = v + c * 1e-3));
    const values = {
      x: wave(1, 0.8),
      g: wave(2, 0.3),
      a: wave(3, 0.2),
      a2: wave(4, 0.1).map(Math.abs),
      lam: wave(5, 0.05),
      z: wave(6, 0.5),
    };
    const run = async (
      backend: string,
      kind: number,
      aug: boolean,
      mode: number,
      param: number,
    ) => {
      await tf.setBackend(backend);
      const t = (v: Float32Array) => tf.tensor2d(v, shape as [number, number]);
      const inputs: tf.NamedTensorMap = { x: t(values.x), g: t(values.g) };
      if (kind !== 0) inputs.a = t(values.a);
      if (kind === 3)
        Object.assign(inputs, { a2: t(values.a2), s1: tf.scalar(0.19), s2: tf.scalar(0.002) });
      else
        Object.assign(inputs, {
          c: tf.scalar(-0.05),
          ...(kind === 0 ? {} : { m: tf.scalar(0.9) }),
        });
      if (aug) Object.assign(inputs, { lam: t(values.lam), z: t(values.z) });
      if (mode >= 0) inputs.levels = tf.tensor3d(levels, [1, 4, 16]);
      const f32 = Math.fround;
      const attrs = {
        kind,
        mode,
        param,
        view: [1, 24, 16],
        ...(aug ? { rho: 0.02 } : {}),
        ...(kind === 3
          ? {
              b1: f32(0.9),
              ob1: f32(0.1),
              b2: f32(0.999),
              ob2: f32(1 - 0.999),
              eps: f32(1e-7),
              nlr: f32(-0.01),
            }
          : {}),
      };
      const outs = tf
        .engine()
        .runKernel(
          FUSED_STEP_KERNEL,
          inputs,
          attrs as unknown as tf.NamedAttrMap,
        ) as unknown as tf.Tensor[];
      const got = await Promise.all(outs.map(async (o) => Array.from(await o.data())));
      tf.dispose([...outs, ...Object.values(inputs)]);
      return got;
    };
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    await tf.setBackend('webgpu');
    expect(fusedStepRuns()).toBe(true);
    for (const kind of [0, 1, 2, 3])
      for (const aug of [false, true])
        for (const [mode, param] of [
          [-1, 0],
          [0, 0],
          [1, 0.3],
          [2, 0.4],
          [3, 5],
        ]) {
          const cpu = await run('cpu', kind, aug, mode, param);
          const gpu = await run('webgpu', kind, aug, mode, param);
          const label = `kind ${kind}${aug ? ' augmented' : ''} mode ${mode}`;
          expect(gpu.length, label).toBe(cpu.length);
          cpu.forEach((want, i) =>
            expect(tensorAgrees(gpu[i], want, 0), `${label} output ${i}`).toBe(true),
          );
        }
    tf.env().set('WEBGPU_CPU_FORWARD', true);
    await tf.setBackend('webgpu');
  });

  const proxMaps: Record<string, () => ProxMap> = {
    hard: () => new ProxHardQuant(),
    parq: () => new ProxPARQ({ annealStart: 0, annealEnd: 20 }),
    binaryrelax: () => new ProxBinaryRelax({ annealStart: 0, annealEnd: 20 }),
    softquant: () =>
      new ProxSoftQuant({ annealStart: 0, annealEnd: 20, tStart: 1, tEnd: 50, tPower: 2 }),
  };
  const quantizers: Array<[string, number]> = [
    ['lsbq', 2],
    ['lsbq-optimal', 2],
    ['unif', 3],
    ['unif-max', 2],
    ['asym', 2],
    ['ternary', 0],
  ];
  type MakeOptimizer = (w: tf.Variable) => tf.Optimizer;
  const cases: Array<[string, MakeOptimizer]> = [];
  for (const [q, bits] of quantizers) {
    for (const [p, prox] of Object.entries(proxMaps)) {
      cases.push([
        `QuantOptimizer ${q} ${p}`,
        (w) =>
          new QuantOptimizer({
            base: tf.train.momentum(0.05, 0.9),
            quantizer: quantizerByName(q, bits),
            prox: prox(),
            groups: [{ variables: [w], bits, granularity: { kind: 'channel' } }],
            quantPeriod: 5,
          }),
      ]);
    }
  }
  cases.push([
    'ADMMQOptimizer lsbq',
    (w) =>
      new ADMMQOptimizer({
        base: tf.train.momentum(0.05, 0.9),
        quantizer: quantizerByName('lsbq', 2),
        groups: [{ variables: [w], bits: 2 }],
        rho: 0.01,
        projectEvery: 3,
      }),
  ]);

  /** 12 steps of QAT on `backend`: final weights, and reads / tensor growth after step 1. */
  async function train(backend: string, make: MakeOptimizer, id: string) {
    await tf.setBackend(backend);
    const reads = backend === 'webgpu' ? countReads() : () => 0;
    const w0 = Float32Array.from({ length: 24 * 16 }, (_, i) => Math.sin(i * 0.37) * 0.5);
    const w = tf.variable(tf.tensor2d(w0, [24, 16]), true, `webgpu_test_${id}_${backend}/kernel`);
    const target = tf.tensor2d(
      w0.map((v, i) => v * 0.5 + Math.cos(i) * 0.1),
      [24, 16],
    );
    const opt = make(w);
    const step = () =>
      opt.minimize(() => tf.sum(tf.square(tf.sub(w, target))) as tf.Scalar, false, [w]);
    step();
    await w.data(); // the first step's own reads (the finite check) are done
    const reads1 = reads();
    const tensors1 = tf.memory().numTensors;
    for (let s = 1; s < 12; s++) step();
    const growth = tf.memory().numTensors - tensors1;
    const stepReads = reads() - reads1;
    const out = await w.data();
    opt.dispose();
    tf.dispose([w, target]);
    return { out, growth, stepReads };
  }

  it.each(cases)('%s: the same steps as cpu, no read-back, no leak', async (name, make) => {
    const id = name.replace(/\W+/g, '_');
    const cpu = await train('cpu', make, id);
    const gpu = await train('webgpu', make, id);
    expect(gpu.stepReads).toBe(0);
    expect(gpu.growth).toBe(0);
    expect(cpu.growth).toBe(0);
    // the optimizer-case rule of the conformance vectors: a weight on a rounding boundary may
    // take the other level
    expect(tensorAgrees(gpu.out, Array.from(cpu.out), 0.05)).toBe(true);
  });

  // plain (fp) training: `parq train --method fp` takes FusedBaseOptimizer on every backend
  it.each([
    ['momentum', () => tf.train.momentum(0.05, 0.9)],
    ['adam', () => tf.train.adam(0.01)],
  ] as const)(
    'FusedBaseOptimizer (%s): the fused kernel on webgpu, the same steps as cpu, no read-back, no leak',
    async (name, base) => {
      const make = () => new FusedBaseOptimizer(base());
      const cpu = await train('cpu', make, `fused_base_${name}`);
      const { result: gpu, calls } = await countKernel(FUSED_STEP_KERNEL, () =>
        train('webgpu', make, `fused_base_${name}`),
      );
      expect(calls).toBe(12); // a step of one variable, each on the fused kernel
      expect(gpu.stepReads).toBe(0);
      expect(gpu.growth).toBe(0);
      expect(cpu.growth).toBe(0);
      expect(tensorAgrees(gpu.out, Array.from(cpu.out), 0)).toBe(true);
    },
  );
});
