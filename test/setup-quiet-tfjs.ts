/**
 * Vitest setup (every test file): tfjs's cpu backend prints "Hi, looks like you are running
 * TensorFlow.js in Node.js..." on its first tensor. Tests that use cpu without going through
 * selectBackend (which silences it the same way) would print it into the test output.
 */
import * as tf from '@tensorflow/tfjs';

const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
if (cpu && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
