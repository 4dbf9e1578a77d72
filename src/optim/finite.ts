/** The check the optimizers run once, before their first step changes anything. */
import * as tf from '@tensorflow/tfjs';

/**
 * Throws if a variable holds NaN or Infinity. Where the backend cannot read synchronously
 * (webgpu in Node: tfjs's readSync needs OffscreenCanvas, which Node lacks), the result is
 * read after the step instead and `later` receives the error, for the optimizer to throw at
 * its next step.
 */
export function checkFinite(
  entries: ReadonlyArray<{ name: string; variable: tf.Variable }>,
  later: (error: Error) => void,
): void {
  if (entries.length === 0) return;
  const finite = tf.tidy(() => tf.stack(entries.map((e) => tf.all(tf.isFinite(e.variable)))));
  const firstBad = (ok: ArrayLike<number>): Error | null => {
    for (let i = 0; i < ok.length; i++) {
      if (ok[i] === 0)
        return new Error(`variable '${entries[i].name}' holds NaN or Infinity: cannot quantize it`);
    }
    return null;
  };
  if (readsSynchronously()) {
    const bad = firstBad(finite.dataSync());
    finite.dispose();
    if (bad) throw bad;
    return;
  }
  finite.data().then(
    (ok) => {
      finite.dispose();
      const bad = firstBad(ok);
      if (bad) later(bad);
    },
    () => finite.dispose(),
  );
}

function readsSynchronously(): boolean {
  return (
    tf.getBackend() !== 'webgpu' ||
    typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined'
  );
}
