/** The HTML report of one run, from its metrics alone (metrics.json re-renders it anywhere). */
import { bitsLabel, describeGranularity, describeMethod, isQuantMethod } from '../train/config.js';
import {
  describeBackend,
  describeDivergence,
  type HistogramSnapshot,
  type RunMetrics,
} from '../train/metrics.js';
import { card, duration, num, page, pct, table } from './html.js';
import { esc, histogramChart, lineChart, type Series } from './svg.js';
import { grouped } from '../util/text-format.js';

export interface RunReportOptions {
  /** Page title. Default: method, model and data. */
  title?: string;
}

/** A one-line name of a run: `parq lsbq 2-bit · mlp on mnist`. */
export function runTitle(m: RunMetrics): string {
  return `${describeMethod(m.config)} · ${modelName(m.config.model)} on ${m.dataset.name}`;
}

/** The self-contained HTML report of a run: curves, schedule, histograms with levels, tables. */
export function renderRunReport(m: RunMetrics, opts: RunReportOptions = {}): string {
  const title = opts.title ?? runTitle(m);
  const c = m.config;
  const parts: string[] = [];
  parts.push(`<h1>${esc(title)}</h1>`);
  parts.push(
    `<p class="sub">${esc(statusText(m))} · backend <code>${esc(describeBackend(m))}</code> · ` +
      `${m.dataset.trainSamples} train / ${m.dataset.testSamples} test samples · ` +
      `${m.stepsPerEpoch} steps an epoch · seed ${c.seed}</p>`,
  );
  const cards = [
    card(
      pct(m.final?.testAccuracy ?? lastTestAccuracy(m)),
      m.final ? 'final test accuracy' : 'latest test accuracy',
    ),
    card(`${m.epochsDone} / ${c.epochs}`, 'epochs'),
    card(duration(m.timing.wallSeconds), 'training wall time'),
    card(
      Number.isFinite(m.timing.stepsPerSecond) ? m.timing.stepsPerSecond.toFixed(1) : '–',
      'steps / s',
    ),
  ];
  if (m.quantized.length > 0) {
    const ok = m.quantized.every((q) => q.maxDistinctPerGroup <= q.maxLevels);
    const its = c.layerBits?.length ? "its layer's" : `its ${bitsLabel(c.bits)}`;
    cards.push(card(ok ? 'yes' : 'NO', `every group holds ≤ ${its} levels`));
  }
  parts.push(`<div class="cards">${cards.join('')}</div>`);

  parts.push('<h2>Training curves</h2><div class="charts">');
  parts.push(curves(m));
  parts.push('</div>');

  if (m.quantized.length > 0) {
    parts.push('<h2>Quantized tensors</h2>');
    parts.push(
      table(
        [
          'tensor',
          'shape',
          'bits',
          'groups',
          'levels allowed',
          'distinct values',
          'most in a group',
          'levels Q',
        ],
        m.quantized.map((q) => [
          `<code>${esc(q.name)}</code>`,
          `[${q.shape.join(', ')}]`,
          esc(bitsLabel(q.bits)),
          q.groups,
          q.maxLevels,
          q.distinct,
          q.maxDistinctPerGroup,
          levelsText(q.levels),
        ]),
      ),
    );
  }

  if (m.histograms.length > 0) {
    const overlay =
      c.method === 'admmq'
        ? 'Orange outline: z, the ADMM copy that follows the levels. Red lines: the levels Q. '
        : isQuantMethod(c.method)
          ? 'Orange outline: the latent full-precision weights. Red lines: the levels Q. '
          : '';
    parts.push('<h2>Weights over training</h2>');
    parts.push(
      `<p class="note">Bars: the weights the model computes with${isQuantMethod(c.method) && c.method !== 'admmq' ? ' (after the prox map)' : ''}, ` +
        `on a square-root count scale. ${overlay}One panel per snapshot epoch (0 = initialization).</p>`,
    );
    parts.push(histograms(m.histograms));
  }

  const hasRho = m.epochs.some((e) => e.rho !== undefined);
  parts.push('<h2>Epochs</h2>');
  parts.push(
    table(
      [
        'epoch',
        'step',
        'lr',
        'train loss',
        'train acc',
        'test loss',
        'test acc',
        hasRho ? 'rho' : 'inverse slope',
      ],
      m.epochs.map((e) => [
        e.epoch,
        e.step,
        Number(e.lr.toPrecision(4)),
        num(e.loss),
        pct(e.accuracy),
        num(e.testLoss),
        pct(e.testAccuracy),
        hasRho
          ? e.rho === undefined
            ? '–'
            : e.rho.toPrecision(3)
          : e.inverseSlope === undefined
            ? '–'
            : num(e.inverseSlope, 4),
      ]),
    ),
  );

  parts.push('<h2>Configuration</h2>');
  parts.push(
    table(
      ['setting', 'value'],
      [
        [
          'model',
          `<code>${esc(c.model)}</code>${c.model === 'mlp' ? ` hidden [${c.hidden.join(', ')}]` : ''}`,
        ],
        ['data', `<code>${esc(c.data)}</code>${limits(m)}`],
        ['method', esc(describeMethod(c))],
        ['granularity', esc(describeGranularity(c.granularity))],
        [
          'optimizer',
          esc(
            `${c.optimizer}${c.optimizer === 'momentum' ? ` ${c.momentum}` : ''}, lr ${c.lr}, ${c.lrSchedule} schedule`,
          ),
        ],
        ['batch size, epochs', esc(`${c.batchSize}, ${c.epochs} (${m.totalSteps} steps)`)],
        [
          'annealing',
          esc(
            `${c.annealStart} to ${c.annealEnd} of the steps; steepness ${c.steepness}, center ${c.annealCenter}`,
          ),
        ],
        [
          'quant period, warmup steps',
          esc(`${c.quantPeriod}, ${c.warmupSteps}${c.quantShrink ? ', AProx shrink' : ''}`),
        ],
        [
          'loss',
          esc(
            m.lossOn === 'logits'
              ? 'softmax cross-entropy on the logits'
              : 'cross-entropy on the probabilities',
          ),
        ],
        ['runs', esc(m.timing.segments.join(', '))],
      ],
    ),
  );
  parts.push(
    `<details><summary>config as JSON</summary><pre>${esc(JSON.stringify(c, null, 2))}</pre></details>`,
  );
  return page(title, parts.join('\n'));
}

function curves(m: RunMetrics): string {
  const ep = m.epochs;
  const out: string[] = [];
  const loss: Series[] = [{ label: 'train', points: ep.map((e) => [e.epoch, e.loss]) }];
  const testLoss = ep
    .filter((e) => e.testLoss !== undefined)
    .map((e) => [e.epoch, e.testLoss as number] as [number, number]);
  if (testLoss.length > 0) loss.push({ label: 'test', points: testLoss });
  out.push(lineChart({ title: 'Loss', series: loss, xLabel: 'epoch', yLabel: 'cross-entropy' }));
  const acc: Series[] = [{ label: 'train', points: ep.map((e) => [e.epoch, 100 * e.accuracy]) }];
  const testAcc = ep
    .filter((e) => e.testAccuracy !== undefined)
    .map((e) => [e.epoch, 100 * (e.testAccuracy as number)] as [number, number]);
  if (testAcc.length > 0) acc.push({ label: 'test', points: testAcc });
  out.push(
    lineChart({
      title: 'Accuracy',
      series: acc,
      xLabel: 'epoch',
      yLabel: '%',
      formatY: (y) => `${y.toFixed(2)}%`,
    }),
  );
  if (m.schedule) {
    const spe = m.stepsPerEpoch;
    out.push(
      lineChart({
        title: `${m.schedule.name} (${m.config.method})`,
        series: [
          {
            label: m.schedule.name,
            points: m.schedule.steps.map((s, i) => [s / spe, m.schedule?.values[i] ?? NaN]),
            dots: false,
          },
        ],
        xLabel: 'epoch',
        yLabel: m.schedule.name,
        yRange: m.schedule.name === 'inverse slope' ? [0, 1.02] : undefined,
        logY: m.schedule.name === 'rho',
      }),
    );
  }
  out.push(
    lineChart({
      title: 'Learning rate (end of epoch)',
      series: [{ label: 'lr', points: ep.map((e) => [e.epoch, e.lr]) }],
      xLabel: 'epoch',
      yLabel: 'lr',
    }),
  );
  return out.join('');
}

function histograms(snaps: HistogramSnapshot[]): string {
  const names = snaps[0].tensors.map((t) => t.name);
  const out: string[] = [];
  for (const name of names) {
    out.push(`<h3><code>${esc(name)}</code></h3><div class="hist">`);
    for (const s of snaps) {
      const t = s.tensors.find((x) => x.name === name);
      if (!t) continue;
      const marks = [...new Set((t.levels ?? []).flat())];
      out.push(
        histogramChart({
          title: `epoch ${s.epoch} · ${grouped(t.distinct)} distinct`,
          hist: t.weights,
          overlay: t.latent,
          overlayLabel: 'latent weights',
          marks: marks.length <= 64 ? marks : [],
        }),
      );
    }
    out.push('</div>');
  }
  return out.join('');
}

function levelsText(levels: number[][] | undefined): string {
  if (!levels || levels.length === 0) return '<span class="note">in metrics.json</span>';
  const row = (r: number[]) => r.map((v) => Number(v.toPrecision(4))).join(', ');
  if (levels.length === 1) return esc(row(levels[0]));
  return `<details><summary>${levels.length} groups</summary>${levels.map((r) => esc(row(r))).join('<br>')}</details>`;
}

function statusText(m: RunMetrics): string {
  switch (m.status) {
    case 'complete':
      return 'complete';
    case 'stopped':
      return `stopped after epoch ${m.epochsDone} (resumable)`;
    case 'interrupted':
      return `interrupted during epoch ${m.epochsDone + 1} (the checkpoint of epoch ${m.epochsDone} is intact)`;
    case 'diverged':
      return m.diverged
        ? `diverged: ${describeDivergence(m.diverged)} (the checkpoint of epoch ${m.epochsDone} is kept)`
        : 'diverged';
    default:
      return `running: epoch ${m.epochsDone} of ${m.config.epochs} done`;
  }
}

function lastTestAccuracy(m: RunMetrics): number | undefined {
  for (let i = m.epochs.length - 1; i >= 0; i--)
    if (m.epochs[i].testAccuracy !== undefined) return m.epochs[i].testAccuracy;
  return undefined;
}

function limits(m: RunMetrics): string {
  const c = m.config;
  const l: string[] = [];
  if (c.limitTrain > 0) l.push(`train limited to ${c.limitTrain}`);
  if (c.limitTest > 0) l.push(`test limited to ${c.limitTest}`);
  return l.length > 0 ? ` (${esc(l.join(', '))})` : '';
}

function modelName(model: string): string {
  const parts = model.split(/[\\/]/);
  return parts.length > 1 ? parts.slice(-2).join('/') : model;
}
