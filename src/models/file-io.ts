/// <reference types="node" />
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { syncDir, writeFileDurably } from '../util/durable-file.js';
// Registers the ViT's custom layers, so model.json files holding them load.
import './vit-layers.js';

/** File names written by `fileSaveHandler`. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/**
 * A tfjs IOHandler that loads a layers model from disk: `modelJsonPath` (a model.json, as
 * written by `fileSaveHandler`, tfjs `model.save` or the tfjs converter) and the weight files
 * its manifest lists, relative to its folder. Pure @tensorflow/tfjs has no file:// handler.
 */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const modelJSON = JSON.parse(
        new TextDecoder().decode(readOrThrow(modelJsonPath)),
      ) as tf.io.ModelJSON;
      if (modelJSON.modelTopology === undefined) {
        throw new Error(`${modelJsonPath}: not a tfjs model.json (no modelTopology)`);
      }
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const dir = dirname(modelJsonPath);
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: Uint8Array[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(readOrThrow(join(dir, p)));
        }
        const data = concat(buffers);
        const expected = weightBytes(specs);
        if (expected !== undefined && expected !== data.byteLength) {
          throw new Error(
            `${modelJsonPath}: its weight files hold ${data.byteLength} bytes, ` +
              `the manifest describes ${expected}`,
          );
        }
        return [specs, data.buffer as ArrayBuffer];
      });
    },
  };
}

/**
 * A tfjs IOHandler that saves a model as `dir/model.json` + `dir/weights.bin` (one weight
 * group, all weights concatenated). Both are written to temporary files, flushed to disk,
 * then renamed over the old ones (weights first, model.json last), so a crash never leaves a
 * half-written file; between the two renames a reader may see new weights with the old
 * model.json, which matters only if the weight layout changed.
 */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error(`fileSaveHandler: binary (GraphDef) topologies are not supported`);
      }
      mkdirSync(dir, { recursive: true });
      const weightData = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      const modelJSON = toModelJSON(artifacts, [
        { paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] },
      ]);
      const tag = `.tmp-${process.pid}-${Date.now().toString(36)}`;
      const files: Array<[string, Uint8Array]> = [
        [join(dir, WEIGHTS_BIN), weightData],
        [join(dir, MODEL_JSON), new TextEncoder().encode(JSON.stringify(modelJSON))],
      ];
      try {
        for (const [path, bytes] of files) writeFileDurably(path + tag, bytes);
        for (const [path] of files) renameSync(path + tag, path);
        syncDir(dir);
      } finally {
        for (const [path] of files) rmSync(path + tag, { force: true });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

function toModelJSON(
  a: tf.io.ModelArtifacts,
  weightsManifest: tf.io.WeightsManifestConfig,
): tf.io.ModelJSON {
  const json: tf.io.ModelJSON = { modelTopology: a.modelTopology as object, weightsManifest };
  if (a.format !== undefined) json.format = a.format;
  if (a.generatedBy !== undefined) json.generatedBy = a.generatedBy;
  if (a.convertedBy !== undefined) json.convertedBy = a.convertedBy;
  if (a.trainingConfig !== undefined) json.trainingConfig = a.trainingConfig;
  if (a.signature !== undefined) json.signature = a.signature;
  if (a.userDefinedMetadata !== undefined) json.userDefinedMetadata = a.userDefinedMetadata;
  if (a.modelInitializer !== undefined) json.modelInitializer = a.modelInitializer;
  if (a.initializerSignature !== undefined) json.initializerSignature = a.initializerSignature;
  return json;
}

const BYTES_PER_VALUE: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** Bytes the specs take, or undefined when a string weight makes it data-dependent. */
function weightBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const per = BYTES_PER_VALUE[spec.quantization?.dtype ?? spec.dtype];
    if (per === undefined) return undefined;
    total += per * spec.shape.reduce((a, b) => a * b, 1);
  }
  return total;
}

function readOrThrow(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'missing file' : `cannot read (${code})`;
    throw new Error(`${path}: ${problem}`, { cause: err });
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
