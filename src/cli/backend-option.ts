/** Backend selection for CLI commands (until src/backend/select.ts lands). */
import * as tf from '@tensorflow/tfjs';

export async function useBackend(name: string): Promise<string> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(name))) throw new Error(`backend '${name}' is not available`);
  await tf.ready();
  return tf.getBackend();
}
