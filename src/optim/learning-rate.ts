/**
 * Learning rates of tfjs optimizers, and schedules over steps.
 *
 * tfjs optimizers have no schedules: SGD and momentum cache `-lr` as a scalar
 * (`setLearningRate` refreshes it), the others read `learningRate` each step.
 */
import * as tf from '@tensorflow/tfjs';

export function getLearningRate(opt: tf.Optimizer): number {
  const lr = (opt as unknown as { learningRate?: unknown }).learningRate;
  if (typeof lr !== 'number' || !Number.isFinite(lr)) {
    throw new Error(`${opt.getClassName()} has no numeric learningRate`);
  }
  return lr;
}

export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`learning rate must be >= 0, got ${lr}`);
  if (getLearningRate(opt) === lr) return;
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** A learning rate per step, serializable. */
export type LrSchedule =
  | { kind: 'constant'; lr: number }
  | { kind: 'cosine'; lr: number; totalSteps: number; finalLr?: number }
  | { kind: 'step'; lr: number; stepSize: number; gamma?: number };

/** The schedule's learning rate at `step` (0-based). */
export function scheduledLearningRate(s: LrSchedule, step: number): number {
  switch (s.kind) {
    case 'constant':
      return s.lr;
    case 'cosine': {
      const end = s.finalLr ?? 0;
      const t = Math.min(step, s.totalSteps) / s.totalSteps;
      return end + 0.5 * (s.lr - end) * (1 + Math.cos(Math.PI * t));
    }
    case 'step':
      return s.lr * (s.gamma ?? 0.1) ** Math.floor(step / s.stepSize);
  }
}

export function checkSchedule(s: LrSchedule): void {
  if (!(s.lr >= 0)) throw new Error(`schedule lr must be >= 0, got ${s.lr}`);
  if (s.kind === 'cosine' && !(s.totalSteps >= 1))
    throw new Error('cosine schedule needs totalSteps >= 1');
  if (s.kind === 'step' && !(s.stepSize >= 1)) throw new Error('step schedule needs stepSize >= 1');
}
