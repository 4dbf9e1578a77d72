/**
 * A training run in its own Web Worker (web/src/train-worker.ts), seen from the page: the
 * page's main thread never trains, it only draws what the worker posts, so it keeps its frame
 * rate while a run trains. The trained model comes back as a copy (for the draw pad and
 * predictions); export and the kernel views are asked of the worker, which holds the optimizer.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/types.js';
import { stepsPerEpoch, type TrainConfig } from '../../src/train/config.js';
import type { StepInfo } from './trainer.js';
import type { WeightView } from './weight-view.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

export interface RunHooks {
  onProgress?(info: StepInfo): void;
  onEval?(step: number, testAcc: number): void;
}

export class RemoteRun {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  /** The worker's backend (known once it has started). */
  backend = '';
  step = 0;
  stopped = false;
  finalTestAcc: number | null = null;
  seconds = 0;
  /** Test digits the run evaluates on. */
  testN = 0;
  /** The page's copy of the trained model (null until the run ends). */
  model: tf.LayersModel | null = null;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { ok: (m: FromWorker) => void; fail: (e: Error) => void }
  >();
  private finish: { ok: () => void; fail: (e: Error) => void } | null = null;
  private hooks: RunHooks = {};

  constructor(
    readonly config: TrainConfig,
    private readonly data: Dataset,
    private readonly backendRequest: string | null,
  ) {
    const limited =
      config.limitTrain > 0 ? Math.min(config.limitTrain, data.train.n) : data.train.n;
    this.stepsPerEpoch = stepsPerEpoch(limited, config.batchSize);
    this.totalSteps = this.stepsPerEpoch * config.epochs;
    this.worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => void this.receive(e.data);
    this.worker.onerror = (e) => this.fail(new Error(`training worker: ${e.message}`));
  }

  /** Trains in the worker; resolves when the run has ended (done or stopped) and its model is here. */
  train(hooks: RunHooks = {}): Promise<void> {
    this.hooks = hooks;
    const msg: ToWorker = {
      type: 'start',
      config: this.config,
      data: this.data,
      backend: this.backendRequest,
    };
    return new Promise((ok, fail) => {
      this.finish = { ok, fail };
      this.worker.postMessage(msg);
    });
  }

  stop(): void {
    this.worker.postMessage({ type: 'stop' } satisfies ToWorker);
  }

  /** The histogram/prox view of a kernel, computed in the worker between two steps. */
  async view(layer: string, channel: number): Promise<WeightView> {
    const m = await this.request((id) => ({ type: 'view', id, layer, channel }));
    return (m as Extract<FromWorker, { type: 'view' }>).view;
  }

  /** The packed low-bit file of the trained model (levels from the worker's optimizer). */
  async exportBytes(metadata: Record<string, unknown>): Promise<Uint8Array> {
    const m = await this.request((id) => ({ type: 'export', id, metadata }));
    return (m as Extract<FromWorker, { type: 'exported' }>).bytes;
  }

  dispose(): void {
    this.worker.terminate();
    this.model?.dispose();
    this.model = null;
    this.fail(new Error('the run was closed'));
  }

  private request(make: (id: number) => ToWorker): Promise<FromWorker> {
    const id = this.nextId++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail });
      this.worker.postMessage(make(id));
    });
  }

  private fail(err: Error): void {
    const f = this.finish;
    this.finish = null;
    f?.fail(err);
    for (const p of this.pending.values()) p.fail(err);
    this.pending.clear();
  }

  private async receive(m: FromWorker): Promise<void> {
    if ((m.type === 'view' || m.type === 'exported' || m.type === 'error') && m.id !== undefined) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.type === 'error') p?.fail(new Error(m.message));
      else p?.ok(m);
      return;
    }
    switch (m.type) {
      case 'started':
        this.backend = m.backend;
        this.testN = m.testN;
        break;
      case 'progress':
        this.step = m.step;
        this.hooks.onProgress?.(m);
        break;
      case 'eval':
        this.finalTestAcc = m.acc;
        this.hooks.onEval?.(m.step, m.acc);
        break;
      case 'done':
        try {
          this.step = m.step;
          this.stopped = m.stopped;
          this.seconds = m.seconds;
          this.finalTestAcc = m.finalTestAcc;
          this.model = await tf.loadLayersModel(tf.io.fromMemory(m.artifacts));
          const f = this.finish;
          this.finish = null;
          f?.ok();
        } catch (err) {
          this.fail(err as Error);
        }
        break;
      case 'error':
        this.fail(new Error(m.message));
        break;
    }
  }
}
