/**
 * Hand-drawn canvas charts (no dependencies): line charts for the curves, a histogram with the
 * levels marked, and a transfer curve for the prox map. Every function clears and redraws its
 * whole canvas, sized to its CSS box at the device pixel ratio, and remembers the drawing: when
 * the canvas changes size (layout settling after the first draw, a window resize, a phone
 * rotating) it is drawn again at the new size. Ticks fall on round values (1, 2, 5 x 10^k).
 */

const redraws = new WeakMap<HTMLCanvasElement, { draw: () => void; w: number; h: number }>();
const resizes =
  typeof ResizeObserver === 'undefined'
    ? null
    : new ResizeObserver((entries) => {
        for (const e of entries) {
          const canvas = e.target as HTMLCanvasElement;
          const r = redraws.get(canvas);
          if (r && (r.w !== canvas.clientWidth || r.h !== canvas.clientHeight)) r.draw();
        }
      });

/** Keeps `draw` as the canvas's drawing, run again whenever its CSS size changes. */
function remember(canvas: HTMLCanvasElement, draw: () => void): void {
  if (!redraws.has(canvas)) resizes?.observe(canvas);
  redraws.set(canvas, { draw, w: canvas.clientWidth, h: canvas.clientHeight });
}

/** Round tick values covering [lo, hi]: about `n` of them, steps of 1, 2 or 5 x 10^k. */
export function niceTicks(lo: number, hi: number, n = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, n);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((st) => st >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

export const COLORS = {
  axis: '#8a8f98',
  grid: '#e6e8eb',
  text: '#30343b',
  loss: '#d1495b',
  train: '#00798c',
  test: '#edae49',
  bars: '#66a182',
  latent: '#2e4057',
  level: '#d1495b',
  identity: '#c4c8ce',
  curve: '#2e4057',
};

interface Frame {
  ctx: CanvasRenderingContext2D;
  w: number;
  h: number;
  /** Plot area. */
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FONT = '11px system-ui, sans-serif';

/** Prepares the canvas at its CSS size and device pixel ratio; clears it. */
function frame(canvas: HTMLCanvasElement, margins = { l: 40, r: 10, t: 20, b: 22 }): Frame {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, w, h);
  ctx.font = FONT;
  return {
    ctx,
    w,
    h,
    left: margins.l,
    right: w - margins.r,
    top: margins.t,
    bottom: h - margins.b,
  };
}

function title(f: Frame, text: string): void {
  f.ctx.fillStyle = COLORS.text;
  f.ctx.textAlign = 'left';
  f.ctx.textBaseline = 'top';
  f.ctx.fillText(text, 4, 4);
  // the title as the canvas's accessible name (screen readers, tests)
  f.ctx.canvas.setAttribute('aria-label', text);
}

/** A tick label for a value: few digits, no trailing noise. */
export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(a >= 10 ? 1 : 2).replace(/\.?0+$/, '');
  return v
    .toPrecision(2)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
}

interface AxisOptions {
  yTicks?: number;
  xGap?: number;
  /** Label under the x axis, at its right end (e.g. 'step', 'weight'). */
  xLabel?: string;
  /** y tick labels for a log axis: the value at a tick is 10^tick. */
  yLog?: boolean;
}

function axes(f: Frame, x0: number, x1: number, y0: number, y1: number, o: AxisOptions = {}): void {
  const { yTicks = 4, xGap = 4 } = o;
  const { ctx } = f;
  ctx.strokeStyle = COLORS.grid;
  ctx.lineWidth = 1;
  ctx.fillStyle = COLORS.axis;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  // one tick: just the two ends (the histogram's square-root axis has no linear ticks between)
  const yTickValues =
    yTicks === 1
      ? [y0, y1]
      : o.yLog
        ? niceTicks(y0, y1, yTicks).filter((v) => Number.isInteger(v))
        : niceTicks(y0, y1, yTicks);
  for (const v of yTickValues) {
    const y = f.bottom - ((f.bottom - f.top) * (v - y0)) / (y1 - y0);
    ctx.beginPath();
    ctx.moveTo(f.left, y + 0.5);
    ctx.lineTo(f.right, y + 0.5);
    ctx.stroke();
    ctx.fillText(o.yLog ? fmt(10 ** v) : fmt(v), f.left - 4, y);
  }
  // x ticks: round values, as many as fit without their labels touching
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  const px = (v: number) => f.left + ((f.right - f.left) * (v - x0)) / (x1 - x0);
  const widest = Math.max(ctx.measureText(fmt(x0)).width, ctx.measureText(fmt(x1)).width);
  const fit = Math.max(1, Math.floor((f.right - f.left) / (widest + 16)));
  const labelW = o.xLabel ? ctx.measureText(o.xLabel).width + 8 : 0;
  for (const v of niceTicks(x0, x1, Math.min(5, fit))) {
    const x = px(v);
    if (x + widest / 2 > f.right - labelW + 2 && o.xLabel) continue; // room for the label
    ctx.fillText(
      fmt(v),
      Math.min(Math.max(x, f.left + widest / 2), f.right - widest / 2),
      f.bottom + xGap,
    );
  }
  if (o.xLabel) {
    ctx.textAlign = 'right';
    ctx.fillStyle = COLORS.text;
    ctx.fillText(o.xLabel, f.right, f.bottom + xGap);
  }
  ctx.strokeStyle = COLORS.axis;
  ctx.strokeRect(f.left + 0.5, f.top + 0.5, f.right - f.left, f.bottom - f.top);
}

export interface Series {
  label: string;
  color: string;
  /** [x, y] pairs, x ascending. */
  points: [number, number][];
  /** Draw a dot on every point (sparse series such as test accuracy). */
  dots?: boolean;
}

/** Line chart of several series over a shared x range [0, xMax]. */
export function drawLines(
  canvas: HTMLCanvasElement,
  text: string,
  series: Series[],
  opts: {
    xMax: number;
    yMin?: number;
    yMax?: number;
    yTicks?: number;
    /** Label of the x axis (default 'step'). */
    xLabel?: string;
    /** A log y axis (values <= 0 are left out). */
    logY?: boolean;
  },
): void {
  remember(canvas, () => drawLines(canvas, text, series, opts));
  const f = frame(canvas);
  const tr = opts.logY ? (y: number) => (y > 0 ? Math.log10(y) : NaN) : (y: number) => y;
  const ys = series.flatMap((s) => s.points.map((p) => tr(p[1]))).filter(Number.isFinite);
  let y0 = opts.logY
    ? ys.length
      ? Math.min(...ys)
      : -1
    : (opts.yMin ?? (ys.length ? Math.min(...ys) : 0));
  let y1 = opts.logY
    ? ys.length
      ? Math.max(...ys)
      : 0
    : (opts.yMax ?? (ys.length ? Math.max(...ys) : 1));
  if (opts.logY) [y0, y1] = [Math.floor(y0 * 2) / 2, Math.ceil(y1 * 2) / 2];
  if (!(y1 > y0)) y1 = y0 + 1;
  const xMax = Math.max(opts.xMax, 1);
  axes(f, 0, xMax, y0, y1, { yTicks: opts.yTicks, xLabel: opts.xLabel ?? 'step', yLog: opts.logY });
  title(f, opts.logY ? `${text} (log)` : text);
  const { ctx } = f;
  const px = (x: number) => f.left + ((f.right - f.left) * x) / xMax;
  const py = (y: number) =>
    f.bottom - ((f.bottom - f.top) * (Math.min(Math.max(tr(y), y0), y1) - y0)) / (y1 - y0);
  let legendX = f.right;
  for (const s of [...series].reverse()) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillStyle = s.color;
    ctx.fillText(s.label, legendX, 4);
    legendX -= ctx.measureText(s.label).width + 12;
  }
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    s.points.forEach(([x, y], i) =>
      i === 0 ? ctx.moveTo(px(x), py(y)) : ctx.lineTo(px(x), py(y)),
    );
    ctx.stroke();
    if (s.dots) {
      for (const [x, y] of s.points) {
        ctx.beginPath();
        ctx.arc(px(x), py(y), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }
}

export interface HistogramData {
  /** The weights the model holds (what inference uses). */
  weights: Float32Array;
  /** The optimizer's latent full-precision weights, when it keeps them. */
  latent?: Float32Array | null;
  /** Level sets to mark: one row per group (all drawn faintly when there are many). */
  levels: number[][];
}

/** A histogram's counts: what `drawHistogram` draws, computable away from the page (a worker). */
export interface HistogramBins {
  lo: number;
  hi: number;
  /** Counts of the weights per bin, and of the latent weights (null when there are none). */
  weights: Float64Array;
  latent: Float64Array | null;
  levels: number[][];
}

/** Bins the weights and latent weights over a range that holds them and the levels. */
export function histogramBins(data: HistogramData, bins = 120): HistogramBins {
  const { weights, latent, levels } = data;
  let lo = Infinity;
  let hi = -Infinity;
  for (const arr of [weights, latent ?? new Float32Array()]) {
    for (const v of arr) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  for (const v of levels.flat()) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) {
    lo = -1;
    hi = 1;
  }
  const pad = (hi - lo) * 0.05 || 0.1;
  lo -= pad;
  hi += pad;
  const count = (arr: Float32Array) => {
    const c = new Float64Array(bins);
    for (const v of arr)
      c[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]++;
    return c;
  };
  return { lo, hi, weights: count(weights), latent: latent ? count(latent) : null, levels };
}

/** Histogram of the weights (bars), the latent weights (line), and the levels (red marks). */
export function drawHistogram(
  canvas: HTMLCanvasElement,
  text: string,
  data: HistogramData | HistogramBins,
  bins = 120,
): void {
  const h =
    data.weights instanceof Float64Array
      ? (data as HistogramBins)
      : histogramBins(data as HistogramData, bins);
  remember(canvas, () => drawHistogram(canvas, text, h));
  const f = frame(canvas, { l: 44, r: 10, t: 20, b: 30 });
  const { lo, hi, levels } = h;
  const cw = h.weights;
  const cl = h.latent;
  bins = cw.length;
  // sqrt scale: a quantized layer piles all weights into k bins, which would flatten the rest
  const top = Math.sqrt(Math.max(1, ...cw, ...(cl ?? [])));
  const { ctx } = f;
  axes(f, lo, hi, 0, top * top, { yTicks: 1, xGap: 10, xLabel: 'weight' });
  title(f, `${text} · √count`);
  const bw = (f.right - f.left) / bins;
  const hy = (c: number) => ((f.bottom - f.top) * Math.sqrt(c)) / top;
  // levels first (behind the bars, which pile up exactly on them), then a marker under the axis
  const lx = (v: number) => f.left + ((v - lo) / (hi - lo)) * (f.right - f.left);
  ctx.strokeStyle = COLORS.level;
  ctx.fillStyle = COLORS.level;
  ctx.globalAlpha = levels.length > 1 ? Math.max(0.08, 1 / Math.sqrt(levels.length)) : 0.6;
  ctx.setLineDash([3, 3]);
  for (const row of levels) {
    for (const v of row) {
      ctx.beginPath();
      ctx.moveTo(lx(v), f.top);
      ctx.lineTo(lx(v), f.bottom);
      ctx.stroke();
    }
  }
  ctx.setLineDash([]);
  ctx.globalAlpha = levels.length > 1 ? ctx.globalAlpha : 1;
  for (const row of levels) {
    for (const v of row) {
      ctx.beginPath();
      ctx.moveTo(lx(v), f.bottom + 1);
      ctx.lineTo(lx(v) - 4, f.bottom + 8);
      ctx.lineTo(lx(v) + 4, f.bottom + 8);
      ctx.fill();
    }
  }
  ctx.globalAlpha = 1;
  ctx.fillStyle = COLORS.bars;
  cw.forEach((c, i) => {
    if (c > 0) ctx.fillRect(f.left + i * bw, f.bottom - hy(c), Math.max(bw - 0.5, 1), hy(c));
  });
  if (cl) {
    ctx.strokeStyle = COLORS.latent;
    ctx.lineWidth = 1;
    ctx.beginPath();
    cl.forEach((c, i) => {
      const x = f.left + (i + 0.5) * bw;
      if (i === 0) ctx.moveTo(x, f.bottom - hy(c));
      else ctx.lineTo(x, f.bottom - hy(c));
    });
    ctx.stroke();
  }
}

/** The prox map as a transfer curve y = prox(x), with the identity and the levels. */
export function drawTransfer(
  canvas: HTMLCanvasElement,
  text: string,
  xs: Float32Array,
  ys: Float32Array | null,
  levels: number[],
): void {
  remember(canvas, () => drawTransfer(canvas, text, xs, ys, levels));
  const f = frame(canvas);
  const lo = xs[0];
  const hi = xs[xs.length - 1];
  axes(f, lo, hi, lo, hi, { xLabel: 'x → prox(x)' });
  title(f, text);
  const { ctx } = f;
  const px = (x: number) => f.left + ((x - lo) / (hi - lo)) * (f.right - f.left);
  const py = (y: number) => f.bottom - ((y - lo) / (hi - lo)) * (f.bottom - f.top);
  ctx.setLineDash([4, 4]);
  ctx.strokeStyle = COLORS.level;
  ctx.globalAlpha = 0.5;
  for (const v of levels) {
    ctx.beginPath();
    ctx.moveTo(f.left, py(v));
    ctx.lineTo(f.right, py(v));
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  ctx.strokeStyle = COLORS.identity;
  ctx.beginPath();
  ctx.moveTo(px(lo), py(lo));
  ctx.lineTo(px(hi), py(hi));
  ctx.stroke();
  ctx.setLineDash([]);
  if (!ys) return;
  ctx.strokeStyle = COLORS.curve;
  ctx.lineWidth = 2;
  ctx.beginPath();
  xs.forEach((x, i) => (i === 0 ? ctx.moveTo(px(x), py(ys[i])) : ctx.lineTo(px(x), py(ys[i]))));
  ctx.stroke();
}

/** Bars of class probabilities, the top class highlighted. */
export function drawProbabilities(canvas: HTMLCanvasElement, probs: ArrayLike<number>): void {
  remember(canvas, () => drawProbabilities(canvas, probs));
  const f = frame(canvas, { l: 6, r: 6, t: 6, b: 18 });
  const { ctx } = f;
  const n = probs.length;
  const bw = (f.right - f.left) / n;
  let best = 0;
  for (let i = 1; i < n; i++) if (probs[i] > probs[best]) best = i;
  for (let i = 0; i < n; i++) {
    const h = (f.bottom - f.top) * probs[i];
    ctx.fillStyle = i === best ? COLORS.level : COLORS.bars;
    ctx.fillRect(f.left + i * bw + 2, f.bottom - h, bw - 4, h);
    ctx.fillStyle = COLORS.text;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(String(i), f.left + (i + 0.5) * bw, f.bottom + 3);
  }
}
