/** The HTML page around the charts: one self-contained file (inline CSS and SVG, no scripts). */
import { esc } from './svg.js';
import { formatBytes } from '../util/text-format.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:0;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:20px 28px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}
.sub{color:#666;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.charts svg,.hist svg{background:#fff;border:1px solid #e3e3e3;border-radius:6px}
.hist{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:8px}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-size:13px}
th,td{border:1px solid #e0e0e0;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f0f0f0;padding:1px 4px;border-radius:3px;font-size:12px}
.note{color:#666;font-size:12px}.warn{color:#a33}
details{margin:6px 0}summary{cursor:pointer}
`;

/** A complete HTML document. */
export function page(title: string, body: string): string {
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${esc(title)}</title><style>${CSS}</style></head>` +
    `<body><main>${body}</main></body></html>\n`
  );
}

/** A table; cells are HTML (escape text yourself), numbers are right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const head = `<tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c) => (typeof c === 'number' ? `<td class="num">${esc(c)}</td>` : `<td>${c}</td>`)).join('')}</tr>`,
    )
    .join('');
  return `<table>${head}${body}</table>`;
}

/** A summary card: a big value and a caption. */
export function card(value: string, caption: string): string {
  return `<div class="card"><b>${esc(value)}</b><span>${esc(caption)}</span></div>`;
}

/** A fraction as a percentage, e.g. 0.96532 -> "96.53%". */
export function pct(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(digits)}%`;
}

/** A number with `digits` decimals, or a dash. */
export function num(x: number | undefined, digits = 4): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

/** Seconds as "52.1 s" or "3 min 05 s". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${String(Math.round(seconds - 60 * m)).padStart(2, '0')} s`;
}

/** Bytes as B or KiB (util/text-format's formatBytes, the CLI's format too). */
export const bytes = formatBytes;
