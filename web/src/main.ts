/**
 * The playground page: picks the backend, loads the built-in MNIST, builds two run panels side
 * by side and the draw pad that predicts with both panels' models. Runs train in Web Workers
 * (one per run, web/src/train-worker.ts); the page's own backend predicts (draw pad, loaded
 * models).
 *
 * URL parameters: `backend` (webgl, wasm or cpu: the first to try), `train` (train on a fixed
 * random subset of this many digits, as `parq train --limit-train`), `epochs` (the epochs both
 * panels start with).
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/types.js';
import { selectBrowserBackend } from './backend.js';
import { drawProbabilities } from './charts.js';
import { DrawPad } from './draw-pad.js';
import { DEFAULT_CONTROLS, type Controls } from './methods.js';
import { fetchMnist, MNIST_ASSET } from './mnist.js';
import { RunPanel } from './panel.js';
import { predictClasses } from './trainer.js';
import './style.css';

const params = new URLSearchParams(location.search);
let data: Dataset | null = null;
const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;

const epochs = Number(params.get('epochs') ?? DEFAULT_CONTROLS.epochs);
const limitTrain = Number(params.get('train') ?? 0);
const initial: Record<string, Controls> = {
  a: { ...DEFAULT_CONTROLS, epochs },
  b: { ...DEFAULT_CONTROLS, method: 'ste', epochs },
};
const runs = $('#runs');
const panels = [
  new RunPanel('a', 'Run A', runs, () => data, initial.a, limitTrain, params.get('backend')),
  new RunPanel('b', 'Run B', runs, () => data, initial.b, limitTrain, params.get('backend')),
];

// The draw pad: each panel's model predicts the drawn digit.
let drawn: Float32Array | null = null;
function predictDrawn(): void {
  for (const p of panels) {
    const box = $(`#pred-${p.id}`);
    const canvas = box.querySelector('canvas') as HTMLCanvasElement;
    const label = box.querySelector('.digit') as HTMLElement;
    const model = p.model;
    if (!model || !drawn || p.state === 'training') {
      label.textContent =
        p.state === 'training' ? 'training…' : !model ? 'no model' : 'draw a digit';
      delete box.dataset.prediction;
      delete box.dataset.probs;
      drawProbabilities(canvas, new Float32Array(10));
      continue;
    }
    const input = drawn;
    const probs = tf.tidy(() =>
      (model.predict(tf.tensor4d(input, [1, 28, 28, 1])) as tf.Tensor).dataSync(),
    );
    let best = 0;
    for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
    label.textContent = `${best}  (${(100 * probs[best]).toFixed(1)}%)`;
    box.dataset.prediction = String(best);
    box.dataset.probs = JSON.stringify(Array.from(probs));
    drawProbabilities(canvas, probs);
  }
}
const pad = new DrawPad($('#pad'), $('#pad-preview'), (input) => {
  drawn = input;
  predictDrawn();
});
$('#pad-clear').addEventListener('click', () => pad.clear());
for (const p of panels) {
  p.onModelChange = predictDrawn;
  $(`#pred-${p.id} .which`).textContent = p.title;
}

$('#start-both').addEventListener('click', () => {
  for (const p of panels) void p.start();
});

/** Hooks for tests and the console (read-only views of the page's state). */
declare global {
  interface Window {
    playground: {
      panels: RunPanel[];
      data: () => Dataset | null;
      /** The predicted class of every test digit by a panel's model. */
      testPredictions: (id: string) => Promise<number[]>;
    };
  }
}
window.playground = {
  panels,
  data: () => data,
  async testPredictions(id: string) {
    const p = panels.find((q) => q.id === id);
    if (!p?.model || !data) throw new Error(`panel ${id} has no model`);
    return Array.from(await predictClasses(p.model, data.test));
  },
};

async function init(): Promise<void> {
  const status = $('#page-status');
  try {
    const backend = await selectBrowserBackend(params.get('backend'));
    const b = $('#backend');
    b.textContent = backend.name;
    b.title = backend.skipped.length ? `skipped: ${backend.skipped.join('; ')}` : '';
    document.body.dataset.backend = backend.name;
    status.textContent = 'loading MNIST…';
    data = await fetchMnist(MNIST_ASSET);
    const n = (k: number) => k.toLocaleString('en');
    const used =
      limitTrain > 0
        ? `${n(limitTrain)} of ${n(data.train.n)} train digits (--limit-train)`
        : `${n(data.train.n)} train digits`;
    status.textContent =
      `MNIST: ${used}, ${n(data.test.n)} test (protocol mlp-mnist10k split) · ` +
      `MLP 784-256-256-10`;
    document.body.dataset.ready = 'true';
    for (const p of panels) p.refreshControls();
  } catch (e) {
    status.textContent = `could not start: ${(e as Error).message}`;
    status.classList.add('error');
    document.body.dataset.ready = 'error';
  }
}
void init();
