/**
 * Small inline-SVG charts for the reports: line charts and histograms with level marks.
 * Plain strings, no DOM and no chart library, so they render in node and in the browser.
 */
import type { Histogram } from '../train/metrics.js';

/** Escapes text for HTML and SVG. */
export function esc(text: string | number): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** A color per series (colorblind-friendly, Okabe-Ito-like). */
export const PALETTE = [
  '#0072b2',
  '#d55e00',
  '#009e73',
  '#cc79a7',
  '#e69f00',
  '#56b4e9',
  '#7f7f7f',
  '#000000',
];

export function color(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.ceil(lo / step - 1e-9) * step;
  // A range below float resolution (0.05 to 0.05 + 1e-18): the steps vanish next to the
  // values, so a loop adding them would never end. The two ends are the ticks.
  if (!(step > 0) || first + step === first || hi - step === hi) return [lo, hi];
  const out: number[] = [];
  for (let k = 0; k <= 2 * Math.max(1, count) + 2; k++) {
    const v = first + k * step;
    if (v > hi + step * 1e-9) break;
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

/** A short label for a tick value. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export interface Series {
  label: string;
  points: [number, number][];
  color?: string;
  dashed?: boolean;
  /** Draw a dot at each point (for short series). Default: when 30 points or fewer. */
  dots?: boolean;
}

export interface LineChartOptions {
  title: string;
  series: Series[];
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Fixed y range; default: the data's, padded. */
  yRange?: [number, number];
  /** Format of y values in the tooltip. */
  formatY?: (y: number) => string;
  /** Log-scale y axis: positive values only, ticks at powers of 10. */
  logY?: boolean;
}

const FONT = 'font-family="system-ui, sans-serif" font-size="11"';

/** A line chart with axes, ticks, a legend and native tooltips. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 460;
  const legendRows = o.series.length > 1 ? legendLayout(o.series, width - 66).rows : 0;
  const m = { left: 54, right: 12, top: 26, bottom: 40 + legendRows * 14 };
  const height = (o.height ?? 260) + legendRows * 14;
  // On a log axis the chart plots log10(y); ticks and tooltips show y itself.
  const logY = o.logY ?? false;
  const ty = (y: number) => (logY ? (y > 0 ? Math.log10(y) : NaN) : y);
  const fromY = (t: number) => (logY ? 10 ** t : t);
  const series = o.series.map((s) => ({
    ...s,
    points: s.points.map(([x, y]) => [x, ty(y)] as [number, number]),
  }));
  const pts = series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const fmt = o.formatY ?? tickLabel;
  let [x0, x1] = extent(pts.map((p) => p[0]));
  let [y0, y1] = o.yRange ? [ty(o.yRange[0]), ty(o.yRange[1])] : extent(pts.map((p) => p[1]));
  if (!(x1 > x0)) [x0, x1] = [x0 - 1, x1 + 1];
  if (!(y1 > y0)) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  if (!o.yRange) {
    const pad = (y1 - y0) * 0.06;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  let xTicks = niceTicks(x0, x1);
  if (pts.every(([x]) => Number.isInteger(x))) {
    // Integer data (epochs): integer ticks only.
    xTicks = xTicks.filter((t) => Number.isInteger(t));
    if (xTicks.length < 2) xTicks = [x0, x1];
  }
  let yTicks = niceTicks(y0, y1);
  if (logY) {
    yTicks = yTicks.filter((t) => Number.isInteger(t));
    if (yTicks.length < 2) yTicks = [y0, y1];
  }
  const yTickLabel = (t: number) => tickLabel(fromY(t));
  parts.push(
    axes(o.title, width, m, pw, ph, xTicks, yTicks, sx, sy, o.xLabel, o.yLabel, yTickLabel),
  );
  series.forEach((s, i) => {
    const c = s.color ?? color(i);
    const good = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (good.length === 0) return;
    const d = good.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${f(sx(x))},${f(sy(y))}`).join('');
    parts.push(
      `<path d="${d}" fill="none" stroke="${c}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    if (s.dots ?? good.length <= 30) {
      for (const [x, y] of good) {
        parts.push(
          `<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="2.6" fill="${c}"><title>${esc(s.label)}: ${esc(tickLabel(x))}, ${esc(fmt(fromY(y)))}</title></circle>`,
        );
      }
    }
  });
  if (legendRows > 0) parts.push(legend(o.series, m.left, m.top + ph + 44, pw));
  return svg(width, height, parts);
}

export interface HistogramChartOptions {
  title: string;
  hist: Histogram;
  /** A second histogram on the same bins, drawn as an outline (e.g. latent weights). */
  overlay?: Histogram;
  overlayLabel?: string;
  histLabel?: string;
  /** Values to mark with vertical lines (e.g. the levels Q). */
  marks?: number[];
  width?: number;
  height?: number;
}

/** Bars for `hist`, an outline for `overlay`, red lines at `marks`; counts on a sqrt scale. */
export function histogramChart(o: HistogramChartOptions): string {
  const width = o.width ?? 240;
  const height = o.height ?? 150;
  const m = { left: 8, right: 8, top: 22, bottom: 30 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const { lo, hi, counts } = o.hist;
  const peak = Math.max(1, ...counts, ...(o.overlay?.counts ?? []));
  const sx = (x: number) => m.left + ((x - lo) / (hi - lo)) * pw;
  const sh = (c: number) => (Math.sqrt(c) / Math.sqrt(peak)) * ph;
  const bw = pw / counts.length;
  const parts: string[] = [];
  parts.push(
    `<text x="${width / 2}" y="14" text-anchor="middle" ${FONT} font-weight="600">${esc(o.title)}</text>`,
  );
  parts.push(
    `<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#999"/>`,
  );
  counts.forEach((c, i) => {
    if (c === 0) return;
    const h = sh(c);
    const x = m.left + i * bw;
    const from = lo + (i * (hi - lo)) / counts.length;
    parts.push(
      `<rect x="${f(x)}" y="${f(m.top + ph - h)}" width="${f(Math.max(0.6, bw - 0.4))}" height="${f(h)}" fill="#0072b2" fill-opacity="0.75"><title>${esc(o.histLabel ?? 'weights')} [${esc(tickLabel(from))}, ${esc(tickLabel(from + (hi - lo) / counts.length))}): ${c}</title></rect>`,
    );
  });
  if (o.overlay) {
    const d = o.overlay.counts
      .map((c, i) => {
        const x = m.left + i * bw;
        const y = m.top + ph - sh(c);
        return `${i === 0 ? 'M' : 'L'}${f(x)},${f(y)}L${f(x + bw)},${f(y)}`;
      })
      .join('');
    parts.push(
      `<path d="${d}" fill="none" stroke="#e69f00" stroke-width="1.2"><title>${esc(o.overlayLabel ?? 'overlay')}</title></path>`,
    );
  }
  for (const v of o.marks ?? []) {
    if (!(v >= lo && v <= hi)) continue;
    parts.push(
      `<line x1="${f(sx(v))}" y1="${m.top - 2}" x2="${f(sx(v))}" y2="${m.top + ph}" stroke="#d62728" stroke-width="1.2"><title>level ${esc(tickLabel(v))}</title></line>`,
    );
  }
  for (const t of niceTicks(lo, hi, 4)) {
    if (t < lo || t > hi) continue;
    parts.push(
      `<line x1="${f(sx(t))}" y1="${m.top + ph}" x2="${f(sx(t))}" y2="${m.top + ph + 4}" stroke="#999"/>`,
    );
    parts.push(
      `<text x="${f(sx(t))}" y="${m.top + ph + 15}" text-anchor="middle" ${FONT} fill="#555">${esc(tickLabel(t))}</text>`,
    );
  }
  return svg(width, height, parts);
}

export interface DotPlotRow {
  label: string;
  values: number[];
  mean: number;
  sd: number;
}

/** One row per group: each value a dot, the mean a bar, ± sd a whisker. */
export function dotPlot(
  title: string,
  rows: DotPlotRow[],
  xLabel: string,
  format = tickLabel,
): string {
  const width = 560;
  const rowH = 22;
  const m = { left: 170, right: 16, top: 26, bottom: 40 };
  const height = m.top + m.bottom + rowH * rows.length;
  const all = rows
    .flatMap((r) => [...r.values, r.mean - r.sd, r.mean + r.sd])
    .filter(Number.isFinite);
  let [x0, x1] = extent(all);
  if (!(x1 > x0)) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  const pad = (x1 - x0) * 0.08;
  [x0, x1] = [x0 - pad, x1 + pad];
  const pw = width - m.left - m.right;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const parts: string[] = [];
  parts.push(
    `<text x="${width / 2}" y="15" text-anchor="middle" ${FONT} font-size="12" font-weight="600">${esc(title)}</text>`,
  );
  const axisY = m.top + rowH * rows.length;
  for (const t of niceTicks(x0, x1, 6)) {
    if (t < x0 || t > x1) continue;
    parts.push(
      `<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${axisY}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${f(sx(t))}" y="${axisY + 14}" text-anchor="middle" ${FONT} fill="#555">${esc(format(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${m.left + pw / 2}" y="${height - 6}" text-anchor="middle" ${FONT} fill="#333">${esc(xLabel)}</text>`,
  );
  rows.forEach((r, i) => {
    const cy = m.top + rowH * i + rowH / 2;
    const c = color(i);
    parts.push(
      `<text x="${m.left - 8}" y="${cy + 4}" text-anchor="end" ${FONT}>${esc(r.label)}</text>`,
    );
    if (Number.isFinite(r.sd) && r.sd > 0) {
      parts.push(
        `<line x1="${f(sx(r.mean - r.sd))}" y1="${cy}" x2="${f(sx(r.mean + r.sd))}" y2="${cy}" stroke="${c}" stroke-width="2"/>`,
      );
    }
    parts.push(
      `<line x1="${f(sx(r.mean))}" y1="${cy - 7}" x2="${f(sx(r.mean))}" y2="${cy + 7}" stroke="${c}" stroke-width="2.5"><title>${esc(r.label)}: ${r.values.length === 1 ? esc(format(r.mean)) : `mean ${esc(format(r.mean))} ± ${esc(format(r.sd))}`}</title></line>`,
    );
    for (const v of r.values) {
      parts.push(
        `<circle cx="${f(sx(v))}" cy="${cy}" r="3" fill="${c}" fill-opacity="0.6"><title>${esc(format(v))}</title></circle>`,
      );
    }
  });
  return svg(width, height, parts);
}

function axes(
  title: string,
  width: number,
  m: { left: number; top: number },
  pw: number,
  ph: number,
  xTicks: number[],
  yTicks: number[],
  sx: (x: number) => number,
  sy: (y: number) => number,
  xLabel?: string,
  yLabel?: string,
  yTickLabel: (t: number) => string = tickLabel,
): string {
  const out: string[] = [];
  out.push(
    `<text x="${width / 2}" y="15" text-anchor="middle" ${FONT} font-size="12" font-weight="600">${esc(title)}</text>`,
  );
  const [xa, xb] = [m.left, m.left + pw];
  const [ya, yb] = [m.top, m.top + ph];
  for (const t of yTicks) {
    const y = sy(t);
    if (y < ya - 0.5 || y > yb + 0.5) continue;
    out.push(`<line x1="${xa}" y1="${f(y)}" x2="${xb}" y2="${f(y)}" stroke="#eee"/>`);
    out.push(
      `<text x="${xa - 6}" y="${f(y + 4)}" text-anchor="end" ${FONT} fill="#555">${esc(yTickLabel(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    const x = sx(t);
    if (x < xa - 0.5 || x > xb + 0.5) continue;
    out.push(`<line x1="${f(x)}" y1="${yb}" x2="${f(x)}" y2="${yb + 4}" stroke="#999"/>`);
    out.push(
      `<text x="${f(x)}" y="${yb + 16}" text-anchor="middle" ${FONT} fill="#555">${esc(tickLabel(t))}</text>`,
    );
  }
  out.push(`<rect x="${xa}" y="${ya}" width="${pw}" height="${ph}" fill="none" stroke="#bbb"/>`);
  if (xLabel) {
    out.push(
      `<text x="${xa + pw / 2}" y="${yb + 30}" text-anchor="middle" ${FONT} fill="#333">${esc(xLabel)}</text>`,
    );
  }
  if (yLabel) {
    out.push(
      `<text transform="translate(13 ${ya + ph / 2}) rotate(-90)" text-anchor="middle" ${FONT} fill="#333">${esc(yLabel)}</text>`,
    );
  }
  return out.join('');
}

/** Where each legend entry goes: its x offset and row, within `width`. */
function legendLayout(series: Series[], width: number): { at: [number, number][]; rows: number } {
  const at: [number, number][] = [];
  let x = 0;
  let row = 0;
  for (const s of series) {
    const w = 26 + s.label.length * 6.2;
    if (x + w > width && x > 0) {
      x = 0;
      row++;
    }
    at.push([x, row]);
    x += w;
  }
  return { at, rows: row + 1 };
}

function legend(series: Series[], x: number, y: number, width: number): string {
  const { at } = legendLayout(series, width);
  return series
    .map((s, i) => {
      const [dx, row] = at[i];
      const xx = x + dx;
      const yy = y + row * 14;
      const c = s.color ?? color(i);
      return (
        `<line x1="${f(xx)}" y1="${f(yy - 4)}" x2="${f(xx + 16)}" y2="${f(yy - 4)}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>` +
        `<text x="${f(xx + 20)}" y="${f(yy)}" ${FONT}>${esc(s.label)}</text>`
      );
    })
    .join('');
}

function svg(width: number, height: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join('')}</svg>`;
}

function extent(xs: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (!Number.isFinite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

function f(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : '0';
}
