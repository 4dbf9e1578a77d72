/**
 * One column of the playground: a run's controls, its live views (curves, weight histogram
 * with the levels, the prox map as a curve), and its model's export and load. Two panels side
 * by side compare two configurations.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/types.js';
import { proxTensor } from '../../src/prox/functional.js';
import { ProxHardQuant } from '../../src/prox/proxmap.js';
import { quantizeTensor } from '../../src/quant/functional.js';
import { exportQuantized } from '../../src/export/writer.js';
import { loadQuantized } from '../../src/export/reader.js';
import { COLORS, drawHistogram, drawLines, drawTransfer, fmt, type Series } from './charts.js';
import type { TrainConfig } from '../../src/train/config.js';
import {
  BITS,
  cliCommand,
  controlApplies,
  describeConfig,
  METHOD_HELP,
  METHOD_LABELS,
  METHODS,
  QUANTIZER_NAMES,
  toTrainConfig,
  type Method,
  type Controls,
} from './methods.js';
import { testAccuracy, TrainingRun } from './trainer.js';

export type PanelState = 'idle' | 'training' | 'done' | 'stopped' | 'loaded' | 'error';

/** File extension of the packed low-bit file. */
export const PACKED_EXT = '.parq';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function options(
  values: readonly (string | number)[],
  label: (v: never) => string,
  help = (_v: never) => '',
) {
  return values
    .map((v) => {
      const text = help(v as never);
      const attrs = text ? ` title="${esc(text)}"` : '';
      return `<option value="${v}"${attrs}>${esc(label(v as never))}</option>`;
    })
    .join('');
}

/** The kernels the histogram can show, by layer name. */
const KERNEL_LAYERS = ['fc1', 'fc2', 'logits'];

export class RunPanel {
  readonly root: HTMLElement;
  run: TrainingRun | null = null;
  /** The model the panel shows and predicts with: trained here, or loaded from a file. */
  model: tf.LayersModel | null = null;
  modelLabel = '';
  state: PanelState = 'idle';
  private stopRequested = false;
  private curves = {
    loss: [] as [number, number][],
    train: [] as [number, number][],
    test: [] as [number, number][],
  };
  private drawing = false;
  private redrawAgain = false;
  /** Called when the panel's model or state changes (the draw pad re-predicts). */
  onModelChange: () => void = () => {};

  constructor(
    readonly id: string,
    readonly title: string,
    container: HTMLElement,
    private readonly data: () => Dataset | null,
    initial: Controls,
    /** Train on a fixed random subset of this many digits (0 = all), as `--limit-train`. */
    private readonly limitTrain = 0,
  ) {
    this.root = document.createElement('section');
    this.root.className = 'run';
    this.root.id = `run-${id}`;
    this.root.innerHTML = this.template();
    container.append(this.root);
    this.setControls(initial);
    this.$('form').addEventListener('submit', (e) => e.preventDefault());
    this.$('[name=method]').addEventListener('change', () => this.syncControls());
    this.$('[name=perChannel]').addEventListener('change', () => this.syncControls());
    this.$('.start').addEventListener('click', () => void this.start());
    this.$('.stop').addEventListener('click', () => (this.stopRequested = true));
    this.$('.export').addEventListener('click', () => void this.exportModel());
    // a real button (reachable by Tab, Enter/Space) opens the hidden file input
    this.$('.load-button').addEventListener('click', () => this.$('.load').click());
    this.$('[name=logLoss]').addEventListener('change', () => this.drawCurves());
    this.$<HTMLInputElement>('.load').addEventListener('change', (e) => {
      const file = (e.target as HTMLInputElement).files?.[0];
      if (file) void this.loadFile(file);
      (e.target as HTMLInputElement).value = '';
    });
    for (const sel of ['[name=layer]', '[name=channel]']) {
      this.$(sel).addEventListener('change', () => void this.redraw());
    }
    this.syncControls();
    this.setState('idle', 'press Start to train');
    void this.redraw();
  }

  private template(): string {
    const t = (testid: string) => `data-testid="${testid}"`;
    return `
      <h2>${esc(this.title)} <span class="summary" ${t('summary')}></span></h2>
      <form class="controls">
        <label>method <select name="method">${options(
          METHODS,
          (m: Method) => METHOD_LABELS[m],
          (m: Method) => METHOD_HELP[m],
        )}</select></label>
        <label>quantizer <select name="quantizer">${options(QUANTIZER_NAMES, (q: string) => q)}</select></label>
        <label>bits <select name="bits">${options(BITS, (b: number) => (b === 0 ? 'ternary' : String(b)))}</select></label>
        <label class="check"><input type="checkbox" name="perChannel"> per channel</label>
        <label>epochs <input type="number" name="epochs" min="1" max="100" step="1"></label>
        <label>learning rate <input type="number" name="lr" min="0.001" max="10" step="0.005"></label>
        <label title="PARQ: steepness of the sigmoid that anneals the inverse slope">steepness <input type="number" name="steepness" min="0.1" max="100" step="0.5"></label>
        <label title="ADMM-Q: the penalty rho (first epoch) pulling the weights toward their quantized copy z">rho <input type="number" name="rho" min="0" step="any"></label>
        <label title="ADMM-Q: rho of the last epoch (geometric growth, once an epoch)">rho max <input type="number" name="rhoMax" min="0" step="any"></label>
        <div class="buttons">
          <button type="button" class="start" ${t('start')}>Start</button>
          <button type="button" class="stop" ${t('stop')} disabled>Stop</button>
          <button type="button" class="export" ${t('export')} disabled
            title="download the trained model as a packed low-bit file">Export</button>
          <button type="button" class="load-button" title="load a packed file exported earlier">Load…</button>
          <input type="file" class="load" ${t('load')} accept="${PACKED_EXT},application/octet-stream" hidden>
        </div>
      </form>
      <div class="status" ${t('status')} role="status"></div>
      <div class="views">
        <canvas class="loss" ${t('loss-chart')}></canvas>
        <canvas class="acc" ${t('acc-chart')}></canvas>
        <div class="view-controls">
          <label class="check"><input type="checkbox" name="logLoss"> log loss</label>
          <label>layer <select name="layer">${options(KERNEL_LAYERS, (l: string) => `${l}/kernel`)}</select></label>
          <label class="channel">channel <input type="number" name="channel" min="-1" value="-1" step="1"
            title="-1: the whole tensor; c >= 0: output channel c (per-channel runs)"></label>
        </div>
        <canvas class="hist" ${t('histogram')}></canvas>
        <canvas class="prox" ${t('prox-map')}></canvas>
        <div class="caption" ${t('hist-caption')}></div>
      </div>`;
  }

  $<T extends HTMLElement = HTMLElement>(sel: string): T {
    const el = this.root.querySelector(sel);
    if (!el) throw new Error(`panel ${this.id}: no element '${sel}'`);
    return el as T;
  }

  private field(name: string): HTMLInputElement {
    return this.$<HTMLInputElement>(`[name=${name}]`);
  }

  controls(): Controls {
    return {
      method: this.field('method').value as Method,
      quantizer: this.field('quantizer').value as Controls['quantizer'],
      bits: Number(this.field('bits').value),
      perChannel: this.field('perChannel').checked,
      epochs: Number(this.field('epochs').value),
      lr: Number(this.field('lr').value),
      steepness: Number(this.field('steepness').value),
      rho: Number(this.field('rho').value),
      rhoMax: Number(this.field('rhoMax').value),
    };
  }

  setControls(c: Controls): void {
    this.field('method').value = c.method;
    this.field('quantizer').value = c.quantizer;
    this.field('bits').value = String(c.bits);
    this.field('perChannel').checked = c.perChannel;
    this.field('epochs').value = String(c.epochs);
    this.field('lr').value = String(c.lr);
    this.field('steepness').value = String(c.steepness);
    this.field('rho').value = String(c.rho);
    this.field('rhoMax').value = String(c.rhoMax);
    this.syncControls();
  }

  /** Enables what applies to the chosen method and the panel's state. */
  private syncControls(): void {
    const c = this.controls();
    const busy = this.state === 'training';
    // a control is enabled where its config field applies to the method (the method table)
    const controlField: Record<string, string> = { perChannel: 'granularity' };
    const names = ['method', 'quantizer', 'bits', 'perChannel', 'epochs', 'lr', 'steepness', 'rho'];
    for (const name of [...names, 'rhoMax']) {
      this.field(name).disabled = busy || !controlApplies(controlField[name] ?? name, c.method);
    }
    this.$<HTMLButtonElement>('.start').disabled = busy || this.data() === null;
    this.$<HTMLButtonElement>('.stop').disabled = !busy;
    const exportBtn = this.$<HTMLButtonElement>('.export');
    const midAnneal = this.run ? this.stoppedMidAnnealing(this.run) : false;
    exportBtn.disabled = busy || !this.run || this.model !== this.run.model || midAnneal;
    exportBtn.title = midAnneal
      ? 'stopped before the annealing ended: the weights are not on their levels yet (train to the end to export)'
      : 'download the trained model as a packed low-bit file';
    this.$<HTMLInputElement>('.load').disabled = busy;
    this.$<HTMLButtonElement>('.load-button').disabled = busy;
    const perChannel = this.run ? this.run.config.granularity.kind === 'channel' : c.perChannel;
    this.$('.channel').hidden = !perChannel;
  }

  /** A run stopped while its prox map was still annealing: its weights are off their levels. */
  private stoppedMidAnnealing(run: TrainingRun): boolean {
    const annealing = controlApplies('annealEnd', run.config.method);
    return run.stopped && annealing && run.step < run.config.annealEnd * run.totalSteps;
  }

  /** Re-checks whether Start can be pressed (after the data arrives). */
  refreshControls(): void {
    this.syncControls();
  }

  private setState(state: PanelState, message: string): void {
    this.state = state;
    this.root.dataset.state = state;
    const status = this.$('.status');
    status.textContent = message;
    status.classList.toggle('error', state === 'error');
    this.syncControls();
    this.onModelChange();
  }

  /** A one-line error in the status line; the panel's model and state stay as they were. */
  private showError(message: string): void {
    const status = this.$('.status');
    status.textContent = message;
    status.classList.add('error');
  }

  /** Frees the panel's run and model (a loaded model is the panel's own, a trained one the run's). */
  private release(): void {
    const { run, model } = this;
    this.run = null;
    this.model = null;
    if (model && model !== run?.model) model.dispose();
    run?.dispose();
  }

  private setModel(model: tf.LayersModel | null, label: string): void {
    this.model = model;
    this.modelLabel = label;
    this.$('.summary').textContent = label;
    this.onModelChange();
  }

  async start(): Promise<void> {
    const data = this.data();
    if (this.state === 'training' || !data) return;
    let config: TrainConfig;
    try {
      config = toTrainConfig(this.controls(), this.limitTrain);
    } catch (e) {
      return this.setState('error', (e as Error).message);
    }
    this.release();
    this.setModel(null, '');
    this.curves = { loss: [], train: [], test: [] };
    let run: TrainingRun;
    try {
      run = new TrainingRun(config, data);
    } catch (e) {
      return this.setState('error', (e as Error).message);
    }
    this.run = run;
    this.stopRequested = false;
    this.setModel(run.model, describeConfig(config));
    this.setState('training', `training ${describeConfig(config)}…`);
    try {
      await run.train({
        onProgress: (s) => {
          this.curves.loss.push([s.step, s.loss]);
          this.curves.train.push([s.step, s.acc]);
          const epoch = Math.floor((s.step - 1) / run.stepsPerEpoch) + 1;
          this.$('.status').textContent =
            `epoch ${epoch}/${config.epochs} · step ${s.step}/${s.totalSteps} · ` +
            `loss ${s.loss.toFixed(3)} · train acc ${s.acc.toFixed(1)}% · lr ${fmt(s.lr)}`;
        },
        onEval: (step, acc) => {
          this.curves.test.push([step, acc]);
        },
        onYield: () => this.redrawThrottled(),
        shouldStop: () => this.stopRequested,
      });
    } catch (e) {
      console.error(e);
      this.setState('error', `training failed: ${(e as Error).message}`);
      return;
    }
    const acc = run.finalTestAcc ?? NaN;
    this.root.dataset.testAcc = acc.toFixed(2);
    const verb = run.stopped ? 'stopped' : 'done';
    this.setState(
      run.stopped ? 'stopped' : 'done',
      `${verb} after ${run.step} steps in ${run.seconds.toFixed(1)} s (backend ${tf.getBackend()}): ` +
        `test accuracy ${acc.toFixed(2)}% on ${run.data.test.n} digits ` +
        `(in Node: ${cliCommand(config)})` +
        (this.stoppedMidAnnealing(run)
          ? '; Export is off: stopped before the annealing ended, the weights are not on their levels yet'
          : ''),
    );
    await this.redraw();
  }

  stop(): void {
    this.stopRequested = true;
  }

  /** Downloads the model as a packed file. */
  async exportModel(): Promise<Uint8Array | null> {
    if (!this.model) return null;
    try {
      const run = this.run;
      if (!run || this.model !== run.model)
        throw new Error('only a model trained here can be exported');
      // the optimizer's state gives the levels (ADMM-Q's finalized weights sit on theirs)
      const bytes = await exportQuantized(this.model, run.qat ?? undefined, {
        metadata: {
          playground: { ...run.config },
          steps: run.step,
          testAccuracy: run.finalTestAcc,
        },
      });
      const name = `${this.modelLabel.replace(/[^a-z0-9-]+/gi, '-')}${PACKED_EXT}`;
      const url = URL.createObjectURL(
        new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
      );
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.$('.status').textContent =
        `exported ${name}: ${bytes.length.toLocaleString('en')} bytes`;
      return bytes;
    } catch (e) {
      this.showError(`export failed: ${(e as Error).message}`);
      return null;
    }
  }

  /** Loads a packed file as the panel's model; on a bad file, says why and keeps the old model. */
  async loadFile(file: File): Promise<void> {
    if (this.state === 'training') return;
    let model: tf.LayersModel;
    try {
      model = await loadQuantized(new Uint8Array(await file.arrayBuffer()));
    } catch (e) {
      return this.showError(`could not load ${file.name}: ${(e as Error).message}`);
    }
    const data = this.data();
    const expected = data ? [data.inputShape.reduce((a, b) => a * b, 1)] : null;
    const inSize = (model.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
    if (expected && inSize !== expected[0]) {
      model.dispose();
      return this.showError(
        `could not load ${file.name}: the model takes ${inSize} inputs, MNIST digits have ${expected[0]}`,
      );
    }
    this.release();
    this.curves = { loss: [], train: [], test: [] };
    this.setModel(model, `loaded ${file.name}`);
    const acc = data ? await testAccuracy(model, data) : NaN;
    this.root.dataset.testAcc = acc.toFixed(2);
    this.setState(
      'loaded',
      `loaded ${file.name} (${file.size.toLocaleString('en')} bytes): test accuracy ${acc.toFixed(2)}%`,
    );
    await this.redraw();
  }

  /**
   * Redraws while training, at most every 200 ms and so that drawing (reading back the weights,
   * binning them, evaluating the prox map) takes at most a fifth of the time.
   */
  private redrawThrottled(): Promise<void> | void {
    if (performance.now() - this.lastDraw < Math.max(200, 4 * this.drawCost)) return;
    return this.redraw();
  }

  private lastDraw = 0;
  private drawCost = 0;

  /** Redraws every view; calls made while one is drawing coalesce into one more. */
  async redraw(): Promise<void> {
    if (this.drawing) {
      this.redrawAgain = true;
      return;
    }
    this.drawing = true;
    const t0 = performance.now();
    try {
      do {
        this.redrawAgain = false;
        this.drawCurves();
        await this.drawWeights();
      } while (this.redrawAgain);
    } finally {
      this.drawing = false;
      this.lastDraw = performance.now();
      this.drawCost = this.lastDraw - t0;
    }
  }

  private drawCurves(): void {
    const xMax = this.run?.totalSteps ?? 1;
    const loss: Series[] = [{ label: 'train loss', color: COLORS.loss, points: this.curves.loss }];
    const logY = this.$<HTMLInputElement>('[name=logLoss]').checked;
    drawLines(this.$('.loss'), 'loss', loss, { xMax, yMin: 0, logY });
    const acc: Series[] = [
      { label: 'train', color: COLORS.train, points: this.curves.train },
      { label: 'test', color: COLORS.test, points: this.curves.test, dots: true },
    ];
    drawLines(this.$('.acc'), 'accuracy %', acc, { xMax, yMin: 0, yMax: 100, yTicks: 5 });
  }

  /** Histogram of the chosen kernel with its levels, and the prox map at the current step. */
  private async drawWeights(): Promise<void> {
    const hist = this.$<HTMLCanvasElement>('.hist');
    const prox = this.$<HTMLCanvasElement>('.prox');
    const caption = this.$('.caption');
    const layerName = this.field('layer').value;
    if (!this.model) {
      drawHistogram(hist, `${layerName}/kernel: no model yet`, {
        weights: new Float32Array(),
        levels: [],
      });
      drawTransfer(prox, 'prox map', Float32Array.of(-1, 1), null, []);
      caption.textContent = '';
      return;
    }
    const layer = this.model.layers.find((l) => l.name === layerName);
    const kernel = layer?.trainableWeights
      .find((w) => w.originalName.endsWith('/kernel'))
      ?.read() as tf.Variable | undefined;
    if (!kernel) {
      caption.textContent = `the model has no layer ${layerName} with a kernel`;
      return;
    }
    const run = this.model === this.run?.model ? this.run : null;
    const qat = run?.qat ?? null;
    const cfg = run?.config;
    const channels = kernel.shape[kernel.rank - 1];
    let channel = Math.floor(Number(this.field('channel').value));
    if (cfg?.granularity.kind !== 'channel' || !(channel >= 0)) channel = -1;
    channel = Math.min(channel, channels - 1);
    const column = (t: tf.Tensor) => (channel < 0 ? t.clone() : tf.slice(t, [0, channel], [-1, 1]));

    // read everything first: the values must not change between the reads of one frame
    const wT = column(kernel);
    // the line: PARQ & co keep latent weights; ADMM-Q keeps z, the quantized copy
    const latentVar = qat?.getShadow(kernel) ?? null;
    const lT = latentVar ? column(latentVar) : null;
    let levelsT: tf.Tensor2D | null = qat?.getLevels(kernel) ?? null;
    if (!levelsT && qat && cfg) {
      // before the first step: the levels the quantizer would pick now
      const { q, levels } = quantizeTensor(qat.quantizer, kernel, cfg.bits, cfg.granularity);
      q.dispose();
      levelsT = levels;
    }
    const [weights, latent, levelRows] = await Promise.all([
      wT.data() as Promise<Float32Array>,
      lT ? (lT.data() as Promise<Float32Array>) : Promise.resolve(null),
      levelsT ? (levelsT.array() as Promise<number[][]>) : Promise.resolve(null),
    ]);
    wT.dispose();
    lT?.dispose();
    levelsT?.dispose();

    const distinct = countDistinct(weights, 257);
    let levels = levelRows ?? [];
    if (channel >= 0 && levels.length > 1) levels = [levels[channel]];
    if (!qat && distinct <= 256) levels = [[...new Set(weights)].sort((a, b) => a - b)];
    const many = distinct > 256 ? 'more than 256' : distinct.toLocaleString('en');
    const where = channel >= 0 ? ` channel ${channel}` : '';
    drawHistogram(
      hist,
      `${layerName}/kernel${where}: ${weights.length.toLocaleString('en')} weights`,
      {
        weights,
        latent,
        levels: qat || distinct <= 16 ? levels : [],
      },
    );

    // the prox map, on a grid around the levels of the shown group (or of group 0)
    const row = levels[0] ?? [];
    const lo = Math.min(...(row.length ? row : [-0.1]));
    const hi = Math.max(...(row.length ? row : [0.1]));
    const span = Math.max(hi - lo, 1e-3);
    const xs = new Float32Array(241);
    for (let i = 0; i < xs.length; i++)
      xs[i] = lo - 0.25 * span + (1.5 * span * i) / (xs.length - 1);
    let proxText: string;
    let ys: Float32Array | null = null;
    if (qat && run && row.length > 0) {
      // ADMM-Q has no prox map: its z-update projects x + lambda/rho onto the nearest level
      const prox = qat.prox ?? new ProxHardQuant();
      const step = Math.max(0, qat.step - 1);
      const out = tf.tidy(() => proxTensor(prox, tf.tensor1d(xs), tf.tensor1d(row), step));
      ys = (await out.data()) as Float32Array;
      out.dispose();
      const schedule = qat.schedule;
      proxText = qat.prox
        ? `${prox.className} at step ${step}: ${prox.describe(step)}`
        : `projection (z-update) at step ${step}` +
          (schedule ? `: ${schedule.name} ${fmt(schedule.at(step) ?? NaN)}` : '');
    } else if (!run) {
      proxText = 'prox map: none (loaded model, no optimizer)';
    } else {
      proxText = 'prox map: none (fp training)';
      ys = xs;
    }
    drawTransfer(prox, proxText, xs, ys, row);
    const onLevels = qat ? countOn(weights, levels) : null;
    caption.dataset.distinct = String(distinct);
    caption.textContent =
      `${many} distinct values` +
      (onLevels === null ? '' : ` · ${(100 * onLevels).toFixed(1)}% of weights on a level`) +
      (row.length ? ` · levels ${row.map(fmt).join(', ')}` : '');
  }
}

/** The number of distinct values in `values`, counting no further than `cap`. */
function countDistinct(values: Float32Array, cap: number): number {
  const seen = new Set<number>();
  for (const v of values) {
    seen.add(v);
    if (seen.size >= cap) break;
  }
  return seen.size;
}

/** Fraction of `weights` that equal one of the levels (of their group when one row per group). */
function countOn(weights: Float32Array, levels: number[][]): number {
  const all = new Set(levels.flat().map(Math.fround));
  let on = 0;
  for (const w of weights) if (all.has(w)) on++;
  return on / Math.max(weights.length, 1);
}
