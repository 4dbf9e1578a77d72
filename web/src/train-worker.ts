/**
 * The training worker: one per run. Starts its own tfjs backend (wasm, the page's choice when
 * it can run in a worker, else cpu), trains with `TrainingRun` (src/train's `trainRun`) and
 * posts progress, test accuracies and, on request, the views of a kernel and the exported
 * file. The page's main thread only draws, so it stays responsive while the run trains.
 */
import * as tf from '@tensorflow/tfjs';
import { exportQuantized } from '../../src/export/writer.js';
import { selectBrowserBackend } from './backend.js';
import { TrainingRun } from './trainer.js';
import { weightView } from './weight-view.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

const post = (msg: FromWorker) => (self as unknown as Worker).postMessage(msg);

let run: TrainingRun | null = null;
let stopRequested = false;

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === 'start') void start(msg);
  else if (msg.type === 'stop') stopRequested = true;
  else if (msg.type === 'view') {
    try {
      if (!run) throw new Error('no run yet');
      const view = weightView(run.model, run.qat, run.config, msg.layer, msg.channel, 'run');
      // copied, not transferred: on cpu a read can be the model's own storage
      post({ type: 'view', id: msg.id, view });
    } catch (err) {
      post({ type: 'error', id: msg.id, message: (err as Error).message });
    }
  } else if (msg.type === 'export') void exportRun(msg.id, msg.metadata);
};

async function start(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  try {
    const backend = await selectBrowserBackend(msg.backend);
    run = new TrainingRun(msg.config, msg.data);
    const r = run;
    post({
      type: 'started',
      backend: backend.name,
      stepsPerEpoch: r.stepsPerEpoch,
      totalSteps: r.totalSteps,
      testN: r.data.test.n,
    });
    await r.train({
      onProgress: (s) => post({ type: 'progress', ...s }),
      onEval: (step, acc) => post({ type: 'eval', step, acc }),
      shouldStop: () => stopRequested,
    });
    let artifacts: tf.io.ModelArtifacts | null = null;
    await r.model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    post({
      type: 'done',
      stopped: r.stopped,
      step: r.step,
      seconds: r.seconds,
      finalTestAcc: r.finalTestAcc,
      artifacts: artifacts as unknown as tf.io.ModelArtifacts,
    });
  } catch (err) {
    console.error(err);
    post({ type: 'error', message: (err as Error).message });
  }
}

async function exportRun(id: number, metadata: Record<string, unknown>): Promise<void> {
  try {
    if (!run) throw new Error('no trained model');
    // the optimizer's state gives the levels (ADMM-Q's finalized weights sit on theirs)
    const bytes = await exportQuantized(run.model, run.qat ?? undefined, { metadata });
    post({ type: 'exported', id, bytes });
  } catch (err) {
    post({ type: 'error', id, message: (err as Error).message });
  }
}
