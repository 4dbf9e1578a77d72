// The HTML reports: self-contained, charts present, levels marked, text escaped.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  lineChart,
  niceTicks,
  renderCompareReport,
  renderRunReport,
} from '../../src/report/index.js';
import {
  disposeOptimizer,
  expandCompare,
  resolveTrainConfig,
  summarizeCompare,
  trainRun,
  type RunMetrics,
} from '../../src/train/index.js';
import { useBackend } from '../helpers.js';
import { blobs } from '../train/fixtures.js';

let parq: RunMetrics;
let admm: RunMetrics;

beforeAll(async () => {
  await useBackend('wasm');
  const run = async (method: 'parq' | 'admmq') => {
    const config = resolveTrainConfig({
      data: 'blobs',
      hidden: [8],
      batchSize: 16,
      lr: 0.1,
      epochs: 3,
      method,
    });
    const r = await trainRun(config, { dataset: blobs() });
    disposeOptimizer(r.optimizer);
    r.model.dispose();
    return r.metrics;
  };
  parq = await run('parq');
  admm = await run('admmq');
});

/** Every external reference an HTML page could load (the SVG namespace is not one). */
const EXTERNAL = /<script|<link|<img|<iframe|url\(|src=|href="(https?:)?\/\//;

describe('renderRunReport', () => {
  it('is one self-contained page with the curves, the schedule, histograms and tables', () => {
    const html = renderRunReport(parq);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(EXTERNAL);
    expect(html.match(/<svg /g)?.length).toBe(4 + 2 * 4); // loss, accuracy, schedule, lr; 2 tensors x 4 snapshots
    for (const title of [
      'Loss',
      'Accuracy',
      'inverse slope (parq)',
      'Learning rate (end of epoch)',
    ]) {
      expect(html).toContain(`>${title}</text>`);
    }
    // Each snapshot marks its 4 levels (2 tensors x 4 snapshots x 4 levels).
    expect(html.match(/<title>level /g)?.length).toBe(32);
    expect(html).toContain('<code>fc1/kernel</code>');
    expect(html).toMatch(/final test accuracy/);
    expect(html).toContain('every group holds ≤ its 2-bit levels');
  });

  it('shows ADMM-Q with its rho schedule on a log axis', () => {
    const html = renderRunReport(admm);
    expect(html).toContain('>rho (admmq)</text>');
    expect(html).toContain('>1.0e-4</text>');
    expect(html).toContain('Orange outline: z, the ADMM copy');
    expect(html).toContain('<th>rho</th>');
  });

  it('escapes names and paths', () => {
    const m = structuredClone(parq);
    m.config.model = '/tmp/<evil>&model.json';
    m.histograms[0].tensors[0].name = 'a<b>/kernel';
    const html = renderRunReport(m);
    expect(html).not.toContain('<evil>');
    expect(html).not.toContain('a<b>');
    expect(html).toContain('&lt;evil&gt;&amp;model.json');
  });

  it('says "after the prox map" only for a prox-map run; histogram titles read "N distinct"', () => {
    expect(renderRunReport(parq)).toContain('(after the prox map)');
    const float = structuredClone(parq);
    float.config.method = 'fp';
    const html = renderRunReport(float);
    expect(html).not.toContain('prox map');
    const titles = [...html.matchAll(/>(epoch \d+ · [^<]*)<\/text>/g)].map((m) => m[1]);
    expect(titles.length).toBe(8);
    for (const t of titles) expect(t).toMatch(/^epoch \d+ · [\d,]+ distinct$/);
  });

  it('tells an unfinished run apart', () => {
    const m = structuredClone(parq);
    m.status = 'interrupted';
    m.epochsDone = 2;
    delete m.final;
    expect(renderRunReport(m)).toContain(
      'interrupted during epoch 3 (the checkpoint of epoch 2 is intact)',
    );
  });
});

describe('renderCompareReport', () => {
  it('has the table with mean ± sd, links to each run, the curves and the spread', () => {
    const base = resolveTrainConfig({ epochs: 3 });
    const grid = {
      methods: ['parq' as const, 'admmq' as const],
      quantizers: ['lsbq' as const],
      bits: [2],
      seeds: [0],
    };
    const s = summarizeCompare(base, grid, expandCompare(base, grid), [parq, admm]);
    const html = renderCompareReport(s);
    expect(html).not.toMatch(EXTERNAL);
    // one seed: the mean alone, no "± 0.00"
    expect(html).toContain(`<td>${(100 * parq.final!.testAccuracy).toFixed(2)}</td>`);
    expect(html).not.toContain('± 0.00');
    // the base config shows what the runs share, not the default method 'parq'
    expect(html).toContain('&quot;shared&quot;: {');
    expect(html).toContain('&quot;methods&quot;: [');
    expect(html).not.toContain('&quot;method&quot;: &quot;parq&quot;');
    expect(html).toContain('href="runs/admmq-lsbq-2b-s0/report.html"');
    expect(html).toContain('>Test accuracy</text>');
    expect(html).toContain('Final test accuracy (dots: seeds; bar: mean; whisker: ± sd)');
    expect(renderCompareReport(s, { runsDir: null })).not.toContain('href=');
  });
});

describe('charts', () => {
  it('picks round ticks', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
    expect(niceTicks(-0.13, 0.13, 4)).toEqual([-0.1, 0, 0.1]);
  });

  it('draws integer ticks for epochs and a legend for several series', () => {
    const svg = lineChart({
      title: 't',
      series: [
        {
          label: 'a',
          points: [
            [1, 1],
            [2, 2],
            [3, 1.5],
          ],
        },
        {
          label: 'b',
          points: [
            [1, 2],
            [2, 1],
            [3, 0.5],
          ],
        },
      ],
    });
    // x runs 1..3 (epochs): ticks 1, 2, 3 only (y stays below 2.1, so 2.5 could only be an x tick).
    expect(svg).toContain('>3</text>');
    expect(svg).not.toContain('>2.5</text>');
    expect(svg).toContain('>a</text>');
    expect(svg).toContain('>b</text>');
  });
});
