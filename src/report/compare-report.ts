/** The combined HTML report of a comparison: the results table, curves and per-seed spread. */
import { describeGranularity, type TrainConfig } from '../train/config.js';
import { count } from '../util/text-format.js';
import { formatMeanSd, type CompareSummary } from '../train/compare.js';
import { card, duration, page, table } from './html.js';
import { dotPlot, esc, lineChart } from './svg.js';

export interface CompareReportOptions {
  title?: string;
  /** Link each run to its own report at `${runsDir}/${id}/report.html`. Default `runs`. */
  runsDir?: string | null;
}

/** The self-contained HTML report of a comparison. */
export function renderCompareReport(s: CompareSummary, opts: CompareReportOptions = {}): string {
  const b = s.base;
  const title = opts.title ?? `parq compare · ${modelName(b.model)} on ${b.data}`;
  const runsDir = opts.runsDir === undefined ? 'runs' : opts.runsDir;
  const parts: string[] = [];
  parts.push(`<h1>${esc(title)}</h1>`);
  parts.push(`<p class="sub">${esc(setup(b))} · backend <code>${esc(s.backend)}</code></p>`);
  const best = [...s.rows].sort((x, y) => y.mean - x.mean)[0];
  const runs = s.rows.reduce((a, r) => a + r.runs.length, 0);
  parts.push(
    `<div class="cards">${card(String(s.rows.length), 'configurations')}${card(String(runs), 'runs')}` +
      `${best ? card(`${(100 * best.mean).toFixed(2)}%`, `best: ${best.group}`) : ''}` +
      `${card(duration(s.wallSeconds), 'training wall time, all runs')}</div>`,
  );
  parts.push('<h2>Results</h2>');
  parts.push(
    table(
      [
        'method',
        'quantizer',
        'bits',
        'test accuracy % (mean ± sd)',
        'per seed %',
        'levels ok',
        'time / run',
        'runs',
      ],
      s.rows.map((r) => [
        esc(r.method),
        esc(r.quantizer),
        esc(r.bits === null ? '32 (float)' : r.bits === 0 ? 'ternary' : String(r.bits)),
        esc(formatMeanSd(r.mean, r.sd, 2, r.accuracies.length)),
        esc(r.accuracies.map((a) => (100 * a).toFixed(2)).join(', ')),
        r.bits === null ? '–' : r.levelsOk ? 'yes' : '<b class="warn">NO</b>',
        esc(duration(r.seconds)),
        runsDir === null
          ? esc(r.runs.join(', '))
          : r.runs
              .map((id) => `<a href="${esc(`${runsDir}/${id}/report.html`)}">${esc(id)}</a>`)
              .join(' '),
      ]),
    ),
  );
  parts.push('<p class="note">sd is the population standard deviation over seeds.</p>');
  parts.push('<h2>Curves (mean over seeds)</h2><div class="charts">');
  parts.push(
    lineChart({
      title: 'Test accuracy',
      series: s.rows
        .map((r) => ({
          label: r.group,
          points: r.curve
            .map((v, e) => [e + 1, 100 * v] as [number, number])
            .filter(([, v]) => Number.isFinite(v)),
        }))
        .filter((x) => x.points.length > 0),
      xLabel: 'epoch',
      yLabel: '%',
      width: 540,
      formatY: (y) => `${y.toFixed(2)}%`,
    }),
  );
  parts.push(
    lineChart({
      title: 'Train loss',
      series: s.rows.map((r) => ({
        label: r.group,
        points: r.lossCurve.map((v, e) => [e + 1, v] as [number, number]),
      })),
      xLabel: 'epoch',
      yLabel: 'cross-entropy',
      width: 540,
    }),
  );
  parts.push('</div>');
  parts.push('<h2>Final test accuracy per seed</h2><div class="charts">');
  parts.push(
    dotPlot(
      'Final test accuracy (dots: seeds; bar: mean; whisker: ± sd)',
      s.rows.map((r) => ({
        label: r.group,
        values: r.accuracies.map((a) => 100 * a),
        mean: 100 * r.mean,
        sd: 100 * r.sd,
      })),
      'test accuracy %',
      (v) => v.toFixed(2),
    ),
  );
  parts.push('</div>');
  parts.push('<h2>Setup</h2>');
  // method, quantizer, bits and seed come from the grid (a float row has no quantizer): the
  // base config shows only what every run shares
  const perRun = new Set(['method', 'quantizer', 'bits', 'seed']);
  const shared = Object.fromEntries(Object.entries(b).filter(([k]) => !perRun.has(k)));
  parts.push(
    '<p class="note">Shared by every run; method, quantizer, bits and seed come from the grid.</p>',
  );
  parts.push(`<pre>${esc(JSON.stringify({ shared, grid: s.grid }, null, 2))}</pre>`);
  return page(title, parts.join('\n'));
}

function setup(b: TrainConfig): string {
  return (
    `${count(b.epochs, 'epoch')}, batch ${b.batchSize}, ${b.optimizer} lr ${b.lr} ${b.lrSchedule}, ` +
    `${describeGranularity(b.granularity)}, anneal end ${b.annealEnd}`
  );
}

function modelName(model: string): string {
  const parts = model.split(/[\\/]/);
  return parts.length > 1 ? parts.slice(-2).join('/') : model;
}
