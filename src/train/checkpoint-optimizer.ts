/**
 * The QAT optimizer of a checkpoint, for reading: rebuilt from the run's config (the method
 * table's optimizer, with the run's step counts), its state restored from the checkpoint's
 * optimizer tensors, and bound to the checkpoint model's variables, so that its quantized
 * entries and levels (`QatInspection`) are the ones training ended with. Export reads the
 * levels from it rather than recovering them from the weights. Browser-safe.
 */
import type * as tf from '@tensorflow/tfjs';
import type { QATOptimizer } from '../optim/qat-optimizer.js';
import { disposeOptimizer, optimizerForConfig } from './build.js';
import { restoreOptimizer, type CheckpointState } from './checkpoint.js';

/**
 * The checkpoint's QAT optimizer bound to `model` (the checkpoint's model), or null for a float
 * (fp) run, which has none. The caller disposes it (`disposeOptimizer`). Throws a one-line
 * error when the state does not fit the model.
 */
export async function checkpointQatOptimizer(
  model: tf.LayersModel,
  state: CheckpointState,
  optimizerData: ArrayBuffer,
): Promise<QATOptimizer | null> {
  // The step counts only shape schedules, which reading the state does not step through; a
  // checkpoint from trainRun records them, else they follow from its epoch and step.
  const steps =
    state.metrics?.stepsPerEpoch ?? Math.max(1, Math.round(state.step / Math.max(1, state.epoch)));
  const total = state.metrics?.totalSteps ?? steps * state.config.epochs;
  const run = optimizerForConfig(state.config, total, steps);
  if (!run.quant) {
    disposeOptimizer(run.optimizer);
    return null;
  }
  try {
    await restoreOptimizer(run.optimizer, state, optimizerData);
    run.quant.bind(model.trainableWeights);
  } catch (err) {
    disposeOptimizer(run.optimizer);
    throw err;
  }
  return run.quant;
}
