/// <reference types="node" />
// SIGKILL at seeded random moments (many of them inside the per-epoch checkpoint write and
// its swap), a crash between the two renames of the swap, and SIGINT: there is always a
// complete, checksum-verified checkpoint, the next start cleans up what the dead run left,
// and the resumed run ends bit for bit where an uninterrupted one does.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parq, readJson, tinyCsvFixture } from '../cli/helpers.js';
import { existsIn, listing, seeded, sleep, startParq, verifiedCheckpoint } from './helpers.js';

const f = tinyCsvFixture('parq-faults-kill-');
beforeAll(() => f.setup());
afterAll(() => f.cleanup());

const EPOCHS = 12;

function lockPid(out: string): number | null {
  try {
    return Number(readFileSync(join(out, '.parq.lock'), 'utf8'));
  } catch {
    return null;
  }
}
const RUN_FILES = ['checkpoint', 'metrics.json', 'report.html'];

describe('SIGKILL during training', () => {
  it('leaves a verified checkpoint at every kill, and the resumed run equals an uninterrupted one', async () => {
    const straight = join(f.dir, 'straight');
    // The uninterrupted run, timed from taking its lock (start-up done) to its exit, so that
    // the kills below land inside the training rather than after a fast machine finished.
    const first = startParq(['train', ...f.tiny(), '--epochs', String(EPOCHS), '--out', straight]);
    for (let i = 0; i < 500 && lockPid(straight) !== first.pid; i++) await sleep(5);
    const t0 = performance.now();
    expect(await first.exited, first.stderr()).toBe(0);
    const trainingMs = Math.max(50, performance.now() - t0);

    const out = join(f.dir, 'killed');
    const rand = seeded(18);
    let last = -1;
    let kills = 0;
    for (let attempt = 0; attempt < 8 && kills < 5; attempt++) {
      const state = verifiedCheckpoint(out);
      if (state && state.epoch === EPOCHS) break;
      const args = state
        ? ['train', '--resume', out, '--quiet']
        : ['train', ...f.tiny(), '--epochs', String(EPOCHS), '--out', out];
      const child = startParq(args);
      // Wait for the child to hold the run (its pid in the lock file), then kill it a random
      // moment later: inside an epoch, or inside a checkpoint write and swap.
      for (let i = 0; i < 500 && lockPid(out) !== child.pid; i++) await sleep(5);
      const left = 1 - (state?.epoch ?? 0) / EPOCHS; // of the training, still to run
      await sleep(0.6 * left * trainingMs * rand());
      child.kill('SIGKILL');
      const code = await child.exited;
      if (code !== null) {
        // It finished first: a complete run is fine too.
        expect(code, child.stderr()).toBe(0);
        break;
      }
      kills++;
      const after = verifiedCheckpoint(out); // throws if anything is damaged
      if (after) {
        expect(after.epoch).toBeGreaterThanOrEqual(last);
        last = after.epoch;
      }
    }
    // killed at least twice, and at least once after a checkpoint (so a resume was killed too)
    expect(kills).toBeGreaterThanOrEqual(2);
    expect(last).toBeGreaterThanOrEqual(1);
    // Finish (resume, or start over when no epoch was ever checkpointed).
    const state = verifiedCheckpoint(out);
    if (!state || state.epoch < EPOCHS) {
      const args = state
        ? ['train', '--resume', out, '--quiet']
        : ['train', ...f.tiny(), '--epochs', String(EPOCHS), '--out', out];
      const done = parq(args);
      expect(done.code, done.stderr).toBe(0);
    }
    // The finishing run removed the dead runs' temporary folders and its own lock.
    expect(listing(out)).toEqual(RUN_FILES);
    expect(readJson(join(out, 'metrics.json')).status).toBe('complete');
    for (const file of ['weights.bin', 'optimizer.bin']) {
      expect(readFileSync(join(out, 'checkpoint', file))).toEqual(
        readFileSync(join(straight, 'checkpoint', file)),
      );
    }
  });

  it('after a crash between the two renames of the swap, checkpoint.old is used and the leftovers are cleaned', () => {
    const out = join(f.dir, 'swap');
    const r = parq(['train', ...f.tiny(), '--epochs', '3', '--stop-after', '2', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    // The state a SIGKILL between the renames leaves: checkpoint -> checkpoint.old done, the
    // new checkpoint still in its temporary folder (here half-written), a stale lock.
    renameSync(join(out, 'checkpoint'), join(out, 'checkpoint.old'));
    const tmp = join(out, '.checkpoint.tmp-999999-abc');
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'weights.bin'), new Uint8Array(10));
    writeFileSync(join(out, '.metrics.json.tmp-999999-abd'), '{"half');
    writeFileSync(join(out, '.parq.lock'), '999999\n');
    expect(verifiedCheckpoint(out)?.epoch).toBe(2);

    const ev = parq(['eval', out, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const resumed = parq(['train', '--resume', out, '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(listing(out)).toEqual(RUN_FILES);
    expect(verifiedCheckpoint(out)?.epoch).toBe(3);
  });
});

describe('SIGINT during training', () => {
  it('exits 130 with the last epoch checkpointed, no lock and no temporary file left', async () => {
    const out = join(f.dir, 'sigint');
    const child = startParq(['train', ...f.tiny(), '--epochs', '400', '--out', out]);
    const state = join(out, 'checkpoint', 'state.json');
    for (let i = 0; i < 600 && !existsIn(join(out, 'checkpoint'), 'state.json'); i++)
      await sleep(50);
    expect(readJson(state).epoch).toBeGreaterThanOrEqual(1);
    child.kill('SIGINT');
    expect(await child.exited).toBe(130);
    const done = verifiedCheckpoint(out)?.epoch ?? 0;
    expect(readJson(join(out, 'metrics.json'))).toMatchObject({
      status: 'interrupted',
      epochsDone: done,
    });
    expect(listing(out)).toEqual(RUN_FILES);
  });
});
