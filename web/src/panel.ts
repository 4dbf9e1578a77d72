/**
 * One column of the playground: a run's controls, its live views (curves, weight histogram
 * with the levels, the prox map as a curve), and its model's export and load. Two panels side
 * by side compare two configurations. A run trains in its own Web Worker (RemoteRun); the
 * panel only draws what the worker posts, so the page stays smooth while it trains. Status
 * messages go to a short log under the current line; the latest error stays shown apart.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/types.js';
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
  numberControl,
  QUANTIZER_NAMES,
  toTrainConfig,
  type Method,
  type Controls,
} from './methods.js';
import { RemoteRun } from './remote-run.js';
import { testAccuracy } from './trainer.js';
import { weightView, type WeightView } from './weight-view.js';

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

/** Earlier status messages kept in the panel's log. */
const LOG_SIZE = 6;

type StatusKind = 'info' | 'progress' | 'error';

export class RunPanel {
  readonly root: HTMLElement;
  run: RemoteRun | null = null;
  /** The model the panel shows and predicts with: trained here, or loaded from a file. */
  model: tf.LayersModel | null = null;
  modelLabel = '';
  state: PanelState = 'idle';
  private curves = {
    loss: [] as [number, number][],
    train: [] as [number, number][],
    test: [] as [number, number][],
  };
  private status: { text: string; kind: StatusKind } | null = null;
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
    /** The backend the training workers try first (`?backend=`), null: automatic. */
    private readonly backend: string | null = null,
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
    this.$('.stop').addEventListener('click', () => this.stop());
    this.$('.error-line button').addEventListener('click', () => this.clearError());
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
        ${(['epochs', 'lr', 'steepness', 'rho', 'rhoMax'] as const).map(numberControl).join('\n')}
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
      <div class="error-line" ${t('status-error')} role="alert" hidden><span></span>
        <button type="button" title="dismiss this error">×</button></div>
      <ol class="status-log" ${t('status-log')} aria-label="earlier messages"></ol>
      <div class="note" ${t('note')} hidden></div>
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
    const loaded = this.state === 'loaded';
    exportBtn.disabled = busy || !this.run?.model || this.model !== this.run.model || midAnneal;
    exportBtn.title = midAnneal
      ? 'stopped before the annealing ended: the weights are not on their levels yet (train to the end to export)'
      : loaded
        ? 'a loaded model is exported already: it is the file you loaded'
        : 'download the trained model as a packed low-bit file';
    this.$<HTMLInputElement>('.load').disabled = busy;
    this.$<HTMLButtonElement>('.load-button').disabled = busy;
    // a loaded model has no training curves and no run configuration (no per-channel view)
    const logLoss = this.field('logLoss');
    logLoss.disabled = loaded;
    logLoss.parentElement!.title = loaded ? 'no training curve: the model was loaded' : '';
    const perChannel = this.run ? this.run.config.granularity.kind === 'channel' : c.perChannel;
    this.$('.channel').hidden = loaded || !perChannel;
    const note = this.$('.note');
    note.hidden = !loaded;
    note.textContent = loaded
      ? `${this.modelLabel}: inference only. No training curves and no optimizer (so no latent ` +
        'weights and no prox map); the histogram shows the weights in the file. The controls ' +
        'above set up a new run: Start trains it in place of the loaded model.'
      : '';
  }

  /** A run stopped while its prox map was still annealing: its weights are off their levels. */
  private stoppedMidAnnealing(run: RemoteRun): boolean {
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
    this.setStatus(message, state === 'error' ? 'error' : 'info');
    this.syncControls();
    this.onModelChange();
  }

  /**
   * Shows `text` as the current status line. The line it replaces goes to the log (progress
   * lines only update in place: the next one replaces them); an error also stays in the error
   * line until dismissed or the next run starts.
   */
  private setStatus(text: string, kind: StatusKind): void {
    const prev = this.status;
    if (prev && prev.kind !== 'progress' && prev.text !== text) {
      const log = this.$('.status-log');
      const li = document.createElement('li');
      li.textContent = prev.text;
      if (prev.kind === 'error') li.className = 'error';
      log.prepend(li);
      while (log.children.length > LOG_SIZE) log.lastElementChild?.remove();
    }
    this.status = { text, kind };
    const status = this.$('.status');
    status.textContent = text;
    status.classList.toggle('error', kind === 'error');
    if (kind === 'error') {
      const line = this.$('.error-line');
      line.querySelector('span')!.textContent = text;
      line.hidden = false;
    }
  }

  private clearError(): void {
    this.$('.error-line').hidden = true;
  }

  /** A one-line error; the panel's model and state stay as they were. */
  private showError(message: string): void {
    this.setStatus(message, 'error');
  }

  /** Frees the panel's run (its worker and model copy) and a loaded model. */
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
    this.clearError();
    this.setModel(null, describeConfig(config));
    this.curves = { loss: [], train: [], test: [] };
    const run = new RemoteRun(config, data, this.backend);
    this.run = run;
    this.setState('training', `training ${describeConfig(config)}…`);
    try {
      await run.train({
        onProgress: (s) => {
          this.curves.loss.push([s.step, s.loss]);
          this.curves.train.push([s.step, s.acc]);
          const epoch = Math.floor((s.step - 1) / run.stepsPerEpoch) + 1;
          this.setStatus(
            `epoch ${epoch}/${config.epochs} · step ${s.step}/${s.totalSteps} · ` +
              `loss ${s.loss.toFixed(3)} · train acc ${s.acc.toFixed(1)}% · lr ${fmt(s.lr)}`,
            'progress',
          );
          void this.redrawThrottled();
        },
        onEval: (step, acc) => {
          this.curves.test.push([step, acc]);
        },
      });
    } catch (e) {
      if (this.run !== run) return; // released (a new run or a load replaced it)
      console.error(e);
      this.setState('error', `training failed: ${(e as Error).message}`);
      return;
    }
    if (this.run !== run) return;
    this.setModel(run.model, describeConfig(config));
    const acc = run.finalTestAcc ?? NaN;
    this.root.dataset.testAcc = acc.toFixed(2);
    const verb = run.stopped ? 'stopped' : 'done';
    this.setState(
      run.stopped ? 'stopped' : 'done',
      `${verb} after ${run.step} steps in ${run.seconds.toFixed(1)} s (backend ${run.backend}, ` +
        `in a worker): test accuracy ${acc.toFixed(2)}% on ${run.testN} digits ` +
        `(in Node: ${cliCommand(config)})` +
        (this.stoppedMidAnnealing(run)
          ? '; Export is off: stopped before the annealing ended, the weights are not on their levels yet'
          : ''),
    );
    await this.redraw();
  }

  stop(): void {
    if (this.state === 'training') this.run?.stop();
  }

  /** Downloads the model as a packed file. */
  async exportModel(): Promise<Uint8Array | null> {
    if (!this.model) return null;
    try {
      const run = this.run;
      if (!run || this.model !== run.model)
        throw new Error('only a model trained here can be exported');
      // written by the worker: its optimizer's state gives the levels
      const bytes = await run.exportBytes({
        playground: { ...run.config },
        steps: run.step,
        testAccuracy: run.finalTestAcc,
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
      this.setStatus(`exported ${name}: ${bytes.length.toLocaleString('en')} bytes`, 'info');
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
    this.clearError();
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
    if (this.drawing || performance.now() - this.lastDraw < Math.max(200, 4 * this.drawCost))
      return;
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
    // say why a chart is empty rather than draw bare axes
    const why =
      this.state === 'loaded'
        ? ' · loaded model: no training curve'
        : !this.run
          ? ' · press Start to train'
          : '';
    const loss: Series[] = [{ label: 'train loss', color: COLORS.loss, points: this.curves.loss }];
    const logY = this.$<HTMLInputElement>('[name=logLoss]').checked;
    drawLines(this.$('.loss'), `loss${why}`, loss, { xMax, yMin: 0, logY });
    const acc: Series[] = [
      { label: 'train', color: COLORS.train, points: this.curves.train },
      { label: 'test', color: COLORS.test, points: this.curves.test, dots: true },
    ];
    drawLines(this.$('.acc'), `accuracy %${why}`, acc, { xMax, yMin: 0, yMax: 100, yTicks: 5 });
  }

  /**
   * The shown kernel's view: asked of the run's worker (it holds the optimizer), or computed
   * here for a loaded model; null when there is nothing to show.
   */
  private async weightView(): Promise<WeightView | null> {
    const layer = this.field('layer').value;
    const channel = Number(this.field('channel').value);
    const run = this.run;
    if (run && (this.state === 'training' || this.model === run.model)) {
      try {
        return await run.view(layer, channel);
      } catch {
        return null; // the run ended or was closed meanwhile, or has not built its model yet
      }
    }
    if (this.model) return weightView(this.model, null, null, layer, channel, 'loaded');
    return null;
  }

  /** Histogram of the chosen kernel with its levels, and the prox map at the current step. */
  private async drawWeights(): Promise<void> {
    const hist = this.$<HTMLCanvasElement>('.hist');
    const prox = this.$<HTMLCanvasElement>('.prox');
    const caption = this.$('.caption');
    const layerName = this.field('layer').value;
    const v = await this.weightView();
    if (!v) {
      const why = this.state === 'training' ? 'starting…' : 'no model yet';
      drawHistogram(hist, `${layerName}/kernel: ${why}`, {
        weights: new Float32Array(),
        levels: [],
      });
      drawTransfer(prox, 'prox map', Float32Array.of(-1, 1), null, []);
      caption.textContent = '';
      return;
    }
    if (v.problem) {
      caption.textContent = v.problem;
      return;
    }
    const where = v.channel >= 0 ? ` channel ${v.channel}` : '';
    drawHistogram(
      hist,
      `${v.layer}/kernel${where}: ${v.count.toLocaleString('en')} weights`,
      v.hist,
    );
    drawTransfer(prox, v.proxText, v.xs, v.ys, v.proxLevels);
    const many = v.distinct > 256 ? 'more than 256' : v.distinct.toLocaleString('en');
    caption.dataset.distinct = String(v.distinct);
    caption.textContent =
      `${many} distinct values` +
      (v.onLevels === null ? '' : ` · ${(100 * v.onLevels).toFixed(1)}% of weights on a level`) +
      (v.proxLevels.length ? ` · levels ${v.proxLevels.map(fmt).join(', ')}` : '');
  }
}
