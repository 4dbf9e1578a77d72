/**
 * Terminal progress for training: one cli-progress bar per epoch with the running loss,
 * accuracy and ETA; the finished bar stays as the epoch's line, with its test accuracy.
 * Only on a TTY (stderr) and without --quiet; otherwise every method is a no-op.
 */
import cliProgress from 'cli-progress';
import type { BatchProgress, EpochRecord } from '../train/index.js';

export class EpochProgress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly enabled: boolean;
  private started = 0;
  private readonly epochSeconds: number[] = [];

  /** `prefix` starts every line (e.g. the run's name inside `parq compare`). */
  constructor(
    quiet: boolean,
    private readonly prefix = '',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = !quiet && stream.isTTY === true;
  }

  get active(): boolean {
    return this.enabled;
  }

  startEpoch(epoch: number, epochs: number, batches: number): void {
    if (!this.enabled) return;
    this.started = Date.now();
    const width = String(epochs).length;
    const label = `${this.prefix}epoch ${String(epoch).padStart(width)}/${epochs}`;
    const remaining = epochs - epoch;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        format: (options, params, payload: Payload) => {
          const bar = cliProgress.Format.BarFormat(params.progress, options);
          const eta =
            payload.done ??
            `ETA ${formatSeconds(params.eta)}${payload.runEta ? ` · run ${payload.runEta}` : ''}`;
          return `${label} [${bar}] ${String(params.value).padStart(String(params.total).length)}/${params.total} | loss ${payload.loss} | acc ${payload.acc} | ${eta}`;
        },
      },
      cliProgress.Presets.shades_classic,
    );
    const mean =
      this.epochSeconds.length > 0
        ? this.epochSeconds.reduce((a, b) => a + b, 0) / this.epochSeconds.length
        : 0;
    this.bar.start(batches, 0, {
      loss: '  …   ',
      acc: '  …   ',
      runEta: mean > 0 && remaining > 0 ? formatSeconds(mean * remaining) : '',
    } satisfies Payload);
  }

  batch(p: BatchProgress): void {
    if (!this.bar) return;
    const payload: Partial<Payload> = {};
    if (p.loss !== undefined) payload.loss = p.loss.toFixed(4);
    if (p.accuracy !== undefined) payload.acc = `${(100 * p.accuracy).toFixed(2)}%`;
    this.bar.update(p.batch, payload);
  }

  endEpoch(r: EpochRecord): void {
    if (!this.bar) return;
    const seconds = (Date.now() - this.started) / 1000;
    this.epochSeconds.push(seconds);
    const test =
      r.testAccuracy === undefined ? '' : `test ${(100 * r.testAccuracy).toFixed(2)}% · `;
    this.bar.update({
      loss: r.loss.toFixed(4),
      acc: `${(100 * r.accuracy).toFixed(2)}%`,
      done: `${test}${seconds.toFixed(1)} s`,
    });
    this.bar.stop();
    this.bar = null;
  }

  /** Stops a running bar (interrupt, error) leaving its line. */
  abort(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

interface Payload {
  loss: string;
  acc: string;
  runEta: string;
  done?: string;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '…';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
