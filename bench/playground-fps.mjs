// Frames per second of the playground page while a run trains, in headless Chromium (Debian's
// /usr/bin/chromium, software rendering): builds web/ with Vite, serves web/dist on 127.0.0.1,
// starts Run A (2-bit PARQ, 3 epochs), waits until it has taken a few steps, then counts
// requestAnimationFrame callbacks over 5 s and the steps trained meanwhile.
//   node bench/playground-fps.mjs [--no-build] [--seconds 5]
/* global document, PerformanceObserver, requestAnimationFrame -- run in the page */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] || 5);
const WEB = fileURLToPath(new URL('../web', import.meta.url));
const DIST = join(WEB, 'dist');
if (!args.includes('--no-build')) {
  const { build } = await import('vite');
  await build({ root: WEB, configFile: join(WEB, 'vite.config.ts'), logLevel: 'error' });
}
const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
};
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = normalize(join(DIST, path.endsWith('/') ? `${path}index.html` : path));
  if (!file.startsWith(DIST + sep) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
  res.end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  await page.goto(`${origin}/index.html?epochs=3`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  const stepOf = () =>
    page.evaluate(() =>
      Number(
        /step (\d+)/.exec(document.querySelector('#run-a .status')?.textContent ?? '')?.[1] ?? 0,
      ),
    );
  await page.click('#run-a [data-testid=start]');
  await page.waitForFunction(
    () =>
      Number(
        /step (\d+)/.exec(document.querySelector('#run-a .status')?.textContent ?? '')?.[1] ?? 0,
      ) >= 3,
    undefined,
    { timeout: 120_000 },
  );
  const step0 = await stepOf();
  const r = await page.evaluate(
    (ms) =>
      new Promise((ok) => {
        const long = [];
        const obs = new PerformanceObserver((l) => {
          for (const e of l.getEntries()) long.push(Math.round(e.duration));
        });
        obs.observe({ type: 'longtask' });
        let frames = 0;
        let worst = 0;
        let last = performance.now();
        const t0 = last;
        const tick = (t) => {
          worst = Math.max(worst, t - last);
          last = t;
          frames++;
          if (t - t0 < ms) requestAnimationFrame(tick);
          else {
            obs.disconnect();
            ok({ frames, elapsed: t - t0, worst, long });
          }
        };
        requestAnimationFrame(tick);
      }),
    seconds * 1000,
  );
  const step1 = await stepOf();
  const state = await page.getAttribute('#run-a', 'data-state');
  console.log(
    `fps while training: ${(r.frames / (r.elapsed / 1000)).toFixed(1)} ` +
      `(${r.frames} frames in ${(r.elapsed / 1000).toFixed(2)} s, longest gap ${r.worst.toFixed(0)} ms, ` +
      `main-thread tasks over 50 ms: ${r.long.length ? r.long.join(', ') + ' ms' : 'none'}); ` +
      `steps ${step0} -> ${step1} meanwhile; run state ${state}`,
  );
} finally {
  await browser.close();
  server.close();
}
