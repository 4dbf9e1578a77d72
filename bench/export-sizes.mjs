// Sizes of the packed low-bit file for the MLP of protocol mlp-mnist10k (784-256-256-10), and
// how long loading it takes in Node.
//
//   npm run bench:export              (= npm run build && node bench/export-sizes.mjs)
//   node bench/export-sizes.mjs --quick         fewer load repetitions
//   options: --loads N (load-time repetitions, default 40)  --out FILE (JSON results)
//
// For each granularity (per tensor, per channel) and bits (1, ternary, 2, 4): one epoch of STE
// QAT (126 steps, batch 64, momentum 0.9, lr 0.05 cosine, quant period 10, the uniform
// quantizer: UnifQuantizer, TernaryUnifQuantizer at ternary) through trainRun, on the wasm
// backend, so the kernels sit on their levels; sizes do not depend on accuracy. Then:
//   packed     exportQuantized(model, optimizer): levels from the optimizer's state
//   floor      sum over quantized tensors of ceil(n * bits / 8) (ternary: ceil(n / 5), base 3)
//              + their float32 levels + the float32 biases: the bytes of the weights alone
//   float32    the standard tfjs layers model: model.json + weights.bin, float32 weights
//   uint8      the same with every weight uint8-quantized (as tfjs-converter --quantize_uint8)
//   tfjs-q     exportTfjs: kernels as tfjs uint8 where their levels are uniform, else float32
// and the gzip -9 size of the packed file and of the float32 model, as served over HTTP.
// Load time (2 bits per tensor): median wall time of loadQuantized from bytes in memory and from
// a path (verify, decode, build the model from its topology, set the weights), of building the
// model alone (tf.models.modelFromJSON, initializers included), and of tf.loadLayersModel of
// the float32 model from memory and from model.json + weights.bin on disk; wasm and cpu.
// Writes a Markdown table to stdout and JSON to bench/results/export-sizes.json.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadDataset } from '../dist/data/index.js';
import { exportQuantized, exportTfjs, loadQuantized, parsePacked } from '../dist/export/index.js';
import { writeQuantizedFile } from '../dist/export/files.js';
import { loadModelFromFile, saveModelToDir } from '../dist/models/index.js';
import { DEFAULT_TRAIN_CONFIG, trainRun } from '../dist/train/index.js';

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { loads: 40, out: join(here, 'results', 'export-sizes.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.loads = 5;
    else if (a === '--loads') {
      opts.loads = Number(argv[++i]);
      if (!Number.isInteger(opts.loads) || opts.loads < 1) throw new Error(`--loads needs a positive integer, got '${argv[i]}'`);
    } else if (a === '--out') opts.out = argv[++i];
    else throw new Error(`unknown option '${a}' (--quick, --loads N, --out FILE)`);
  }
  return opts;
}

const BITS = [1, 0, 2, 4];
const GRANULARITIES = [
  { label: 'per tensor', granularity: { kind: 'tensor' } },
  { label: 'per channel', granularity: { kind: 'channel' } },
];
const bitsLabel = (b) => (b === 0 ? 'ternary' : String(b));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** model.json as a tfjs file save handler writes it, and the weight bytes. */
function tfjsFiles(artifacts) {
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
  };
  const json = new Uint8Array(Buffer.from(JSON.stringify(modelJson)));
  const weights = new Uint8Array(artifacts.weightData);
  return { json, weights, bytes: json.length + weights.length };
}

async function float32Artifacts(model) {
  let artifacts;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  return artifacts;
}

/** Every weight affine-quantized to uint8 per tensor, as tfjs-converter --quantize_uint8 does. */
function uint8Artifacts(artifacts) {
  const decoded = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  const specs = [];
  const parts = [];
  for (const spec of artifacts.weightSpecs) {
    const values = decoded[spec.name].dataSync();
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const scale = max > min ? (max - min) / 255 : 1;
    parts.push(Uint8Array.from(values, (v) => Math.round((v - min) / scale)));
    specs.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
  }
  tf.dispose(Object.values(decoded));
  const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { ...artifacts, weightSpecs: specs, weightData: data.buffer };
}

/** Bytes of the weights alone at exactly `bits` a quantized weight (see the header comment). */
async function floorBytes(bytes) {
  const { header } = await parsePacked(bytes);
  let total = 0;
  for (const t of header.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.encoding === 'levels') {
      total += t.bits === 0 ? Math.ceil(n / 5) : Math.ceil((n * t.bits) / 8);
      total += 4 * t.view[0] * t.view[2] * t.levels;
    } else total += 4 * n;
  }
  return total;
}

/**
 * Median wall time of each loader, the loaders run round-robin `n` times after one warm-up
 * round, so that load from other processes on a shared machine falls on all of them alike.
 */
async function timeLoads(loaders, n) {
  const times = Object.fromEntries(Object.keys(loaders).map((k) => [k, []]));
  for (let r = 0; r <= n; r++) {
    for (const [name, load] of Object.entries(loaders)) {
      const t0 = performance.now();
      const model = await load();
      const dt = performance.now() - t0;
      model.dispose();
      if (r > 0) times[name].push(dt);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, ts]) => [k, median(ts)]));
}

async function train(dataset, bits, granularity, quantizer = 'unif') {
  const config = {
    ...DEFAULT_TRAIN_CONFIG,
    method: 'ste',
    quantizer,
    bits,
    granularity,
    epochs: 1,
    evalEvery: 0,
  };
  return trainRun(config, { dataset, backend: 'wasm' });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  await tf.setBackend('wasm');
  await tf.ready();
  const dataset = loadDataset('mnist');
  const rows = [];
  let loadBench;
  for (const { label, granularity } of GRANULARITIES) {
    for (const bits of BITS) {
      const { model, optimizer, metrics } = await train(dataset, bits, granularity);
      const packed = await exportQuantized(model, optimizer);
      const floor = await floorBytes(packed);
      const f32 = tfjsFiles(await float32Artifacts(model));
      const u8 = tfjsFiles(uint8Artifacts(await float32Artifacts(model)));
      const q = await exportTfjs(model, optimizer);
      const tfjsQ = tfjsFiles(q.artifacts);
      const row = {
        granularity: label,
        bits: bitsLabel(bits),
        packed: packed.length,
        floor,
        overFloor: packed.length / floor - 1,
        float32: f32.bytes,
        uint8: u8.bytes,
        tfjsQuantized: tfjsQ.bytes,
        tfjsKernels: q.tensors.filter((t) => t.name.endsWith('kernel')).map((t) => `${t.encoding}`),
        tfjsMaxAbsError: Math.max(...q.tensors.map((t) => t.maxAbsError)),
        gzipPacked: gzipSync(packed, { level: 9 }).length,
        gzipFloat32: gzipSync(f32.json, { level: 9 }).length + gzipSync(f32.weights, { level: 9 }).length,
        testAccuracy: metrics.final?.testAccuracy,
      };
      if (bits === 0) {
        row.packedTernary2bit = (await exportQuantized(model, optimizer, { ternaryPacking: 'bits' })).length;
      }
      rows.push(row);
      if (bits === 2 && granularity.kind === 'tensor') {
        const f32Artifacts = await float32Artifacts(model);
        const tmp = mkdtempSync(join(tmpdir(), 'parq-bench-export-'));
        const packedPath = join(tmp, 'mlp.parq');
        await writeQuantizedFile(packedPath, packed);
        await saveModelToDir(model, join(tmp, 'float32'));
        const topology = (await parsePacked(packed)).header.modelTopology;
        loadBench = { file: `2 bits ${label}`, bytes: packed.length };
        for (const backend of ['wasm', 'cpu']) {
          await tf.setBackend(backend);
          loadBench[backend] = await timeLoads(
            {
              packedMemory: () => loadQuantized(packed),
              packedFile: () => loadQuantized(packedPath),
              buildOnly: () => tf.models.modelFromJSON({ modelTopology: topology }),
              float32Memory: () => tf.loadLayersModel(tf.io.fromMemory(f32Artifacts)),
              float32File: () => loadModelFromFile(join(tmp, 'float32')),
            },
            opts.loads,
          );
        }
        rmSync(tmp, { recursive: true, force: true });
        await tf.setBackend('wasm');
      }
      model.dispose();
      optimizer.dispose();
      console.error(`  ${label}, ${bitsLabel(bits)}: ${packed.length} bytes`);
    }
  }
  // the tfjs export's uint8 needs uniform levels: LSBQ's 2-bit levels are not
  const lsbq = await train(dataset, 2, { kind: 'tensor' }, 'lsbq');
  const lsbqTfjs = await exportTfjs(lsbq.model, lsbq.optimizer);
  const lsbqRow = {
    quantizer: 'lsbq',
    bits: 2,
    tfjsQuantized: tfjsFiles(lsbqTfjs.artifacts).bytes,
    tfjsKernels: lsbqTfjs.tensors.filter((t) => t.name.endsWith('kernel')).map((t) => t.encoding),
    packed: (await exportQuantized(lsbq.model, lsbq.optimizer)).length,
  };
  lsbq.model.dispose();
  lsbq.optimizer.dispose();

  const kb = (n) => (n / 1024).toFixed(1);
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  console.log(`Protocol mlp-mnist10k MLP (784-256-256-10, 269,322 weights), after 1 epoch of STE QAT (unif quantizer). Sizes in KiB.\n`);
  console.log('| granularity | bits | packed | floor | over floor | float32 tfjs | uint8 tfjs | tfjs export (uint8 if uniform) | vs float32 | packed gzip | float32 gzip |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const tern = r.packedTernary2bit ? ` (2-bit packing: ${kb(r.packedTernary2bit)})` : '';
    console.log(
      `| ${r.granularity} | ${r.bits} | ${kb(r.packed)}${tern} | ${kb(r.floor)} | ${pct(r.overFloor)} | ${kb(r.float32)} | ${kb(r.uint8)} | ` +
        `${kb(r.tfjsQuantized)} (${r.tfjsKernels.includes('float32') ? 'kernels float32' : 'kernels uint8'}, max err ${r.tfjsMaxAbsError.toExponential(1)}) | ` +
        `${(r.float32 / r.packed).toFixed(1)}x | ${kb(r.gzipPacked)} | ${kb(r.gzipFloat32)} |`,
    );
  }
  console.log(
    `\nLSBQ 2 bits per tensor: levels not uniform, so the tfjs export keeps kernels ${lsbqRow.tfjsKernels.join('/')} ` +
      `(${kb(lsbqRow.tfjsQuantized)} KiB); the packed file is ${kb(lsbqRow.packed)} KiB.`,
  );
  const lb = loadBench;
  const ms = (x) => `${x.toFixed(1)} ms`;
  console.log(`\nLoad time in Node, ${lb.file} (${kb(lb.bytes)} KiB), median of ${opts.loads} rounds (the five loaders interleaved):\n`);
  console.log('| backend | loadQuantized(bytes) | loadQuantized(path) | of which building the model from its topology | float32 tfjs from memory | float32 tfjs from files |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const b of ['wasm', 'cpu']) {
    const r = lb[b];
    console.log(`| ${b} | ${ms(r.packedMemory)} | ${ms(r.packedFile)} | ${ms(r.buildOnly)} | ${ms(r.float32Memory)} | ${ms(r.float32File)} |`);
  }
  console.log(`\n(load average while measuring: ${loadavg().map((x) => x.toFixed(1)).join(', ')} on ${cpus().length} cores)`);
  const result = { node: process.version, tfjs: tf.version.tfjs, loads: opts.loads, loadavg: loadavg(), rows, lsbq: lsbqRow, load: lb };
  mkdirSync(dirname(opts.out), { recursive: true });
  const tmp = `${opts.out}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(result, null, 2) + '\n');
  renameSync(tmp, opts.out);
  console.error(`wrote ${opts.out}`);
}

main().catch((e) => {
  console.error(`export-sizes: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
});
