/// <reference types="node" />
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileLoadHandler, fileSaveHandler, MODEL_JSON } from './file-io.js';

/**
 * Loads a tfjs layers model from disk: `path` is a model.json, or a folder holding one;
 * a `file://` prefix is accepted. The weights files are read relative to the model.json.
 */
export async function loadModelFromFile(path: string): Promise<tf.LayersModel> {
  const plain = path.startsWith('file://') ? path.slice('file://'.length) : path;
  const isDir = statSync(plain, { throwIfNoEntry: false })?.isDirectory() ?? false;
  return tf.loadLayersModel(fileLoadHandler(isDir ? join(plain, MODEL_JSON) : plain));
}

/** Saves `model` as `dir/model.json` + `dir/weights.bin` (atomically, see fileSaveHandler). */
export async function saveModelToDir(
  model: tf.LayersModel,
  dir: string,
  config?: tf.io.SaveConfig,
): Promise<tf.io.SaveResult> {
  return model.save(fileSaveHandler(dir), config);
}
