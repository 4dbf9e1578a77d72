/**
 * The messages between a panel (page) and its training worker (web/src/train-worker.ts). All
 * plain data: the worker owns the model and the optimizer, the page gets what its views draw.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/types.js';
import type { TrainConfig } from '../../src/train/config.js';
import type { WeightView } from './weight-view.js';

export type ToWorker =
  /** Builds the run's model and trains it; `backend` is the first backend to try. */
  | { type: 'start'; config: TrainConfig; data: Dataset; backend: string | null }
  /** Stops after the current step (the run ends as 'stopped', its model kept). */
  | { type: 'stop' }
  /** Asks for the histogram/prox view of one kernel (answered by a 'view' message). */
  | { type: 'view'; id: number; layer: string; channel: number }
  /** Asks for the packed low-bit file of the trained model (answered by 'exported'). */
  | { type: 'export'; id: number; metadata: Record<string, unknown> };

export type FromWorker =
  | { type: 'started'; backend: string; stepsPerEpoch: number; totalSteps: number; testN: number }
  | { type: 'progress'; step: number; totalSteps: number; loss: number; acc: number; lr: number }
  | { type: 'eval'; step: number; acc: number }
  | { type: 'view'; id: number; view: WeightView }
  | {
      type: 'done';
      stopped: boolean;
      step: number;
      seconds: number;
      finalTestAcc: number | null;
      /** The trained model (topology and weights), for the page's own copy (draw pad, tests). */
      artifacts: tf.io.ModelArtifacts;
    }
  | { type: 'exported'; id: number; bytes: Uint8Array }
  /** `id`: the request that failed; none: the run itself failed. */
  | { type: 'error'; id?: number; message: string };
