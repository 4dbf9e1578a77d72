import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyProxMode,
  composedProx,
  LSBQuantizer,
  ProxBinaryRelax,
  ProxHardQuant,
  ProxMode,
  ProxPARQ,
  ProxSoftQuant,
  proxTensor,
} from '../../src/index.js';
import { normals, useBackend } from '../helpers.js';

const LEVELS = [-0.9, -0.3, 0.2, 1.1];
let levels: tf.Tensor1D;

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`prox maps on ${backend}`, () => {
    beforeEach(async () => {
      await useBackend(backend);
      levels = tf.tensor1d(LEVELS);
    });
    afterEach(() => levels.dispose());

    it('PARQ with inverse slope -> 0 equals hard quantization', async () => {
      await useBackend(backend);
      const w = tf.tensor1d(normals(500, 1));
      const hard = proxTensor(new ProxHardQuant(), w, levels, 0);
      const parq = new ProxPARQ({ annealStart: 0, annealEnd: 1000, steepness: 10 });
      expect(parq.inverseSlope(999)).toBeLessThan(1e-3);
      const nearlyHard = proxTensor(parq, w, levels, 999);
      const diff = tf.max(tf.abs(tf.sub(nearlyHard, hard))).dataSync()[0];
      expect(diff).toBeLessThan(0.01);
      const atEnd = proxTensor(parq, w, levels, 1000);
      expect(Array.from(atEnd.dataSync())).toEqual(Array.from(hard.dataSync()));
      tf.dispose([w, hard, nearlyHard, atEnd]);
    });

    it("PARQ's map is monotone non-decreasing and stays within [min Q, max Q]", async () => {
      await useBackend(backend);
      const xs = tf.linspace(-2, 2, 4001);
      const parq = new ProxPARQ({ annealStart: 0, annealEnd: 100 });
      for (const step of [0, 20, 50, 80, 99]) {
        const ys = proxTensor(parq, xs, levels, step).dataSync();
        for (let i = 1; i < ys.length; i++) expect(ys[i]).toBeGreaterThanOrEqual(ys[i - 1]);
        expect(Math.min(...ys)).toBeCloseTo(-0.9, 6);
        expect(Math.max(...ys)).toBeCloseTo(1.1, 6);
      }
      xs.dispose();
    });

    it('BinaryRelax and SoftQuant at the end of annealing equal hard quantization', async () => {
      await useBackend(backend);
      const w = tf.tensor1d(normals(300, 2));
      const hard = proxTensor(new ProxHardQuant(), w, levels, 0).dataSync();
      const relax = proxTensor(
        new ProxBinaryRelax({ annealStart: 0, annealEnd: 10 }),
        w,
        levels,
        10,
      );
      const soft = proxTensor(new ProxSoftQuant({ annealStart: 0, annealEnd: 10 }), w, levels, 10);
      expect(Array.from(relax.dataSync())).toEqual(Array.from(hard));
      expect(Array.from(soft.dataSync())).toEqual(Array.from(hard));
      tf.dispose([w, relax, soft]);
    });

    it('before annealing starts, the annealed maps leave the weights unchanged', async () => {
      await useBackend(backend);
      const w = tf.tensor1d(normals(50, 3));
      for (const prox of [
        new ProxPARQ({ annealStart: 5, annealEnd: 10 }),
        new ProxBinaryRelax({ annealStart: 5, annealEnd: 10 }),
        new ProxSoftQuant({ annealStart: 5, annealEnd: 10 }),
      ]) {
        const out = proxTensor(prox, w, levels, 4);
        expect(Array.from(out.dataSync())).toEqual(Array.from(w.dataSync()));
        out.dispose();
      }
      w.dispose();
    });

    it('the fused kernel equals the composed tfjs ops, per tensor and per channel', async () => {
      await useBackend(backend);
      for (const shape of [
        [1, 120, 1],
        [2, 40, 3],
      ] as [number, number, number][]) {
        const p = tf.tensor3d(normals(shape[0] * shape[1] * shape[2], 4), shape);
        const { Q } = new LSBQuantizer().quantize(p, 2);
        const modes: [ProxMode, number][] = [
          ['hard', 0],
          ['parq', 0.37],
          ['parq', 1e-30],
          ['relax', 0.6],
          ['soft', 25],
        ];
        for (const [mode, param] of modes) {
          const fused = applyProxMode(p, Q, mode, param);
          const composed = composedProx(p, Q, mode, param);
          const diff = tf.max(tf.abs(tf.sub(fused, composed))).dataSync()[0];
          expect(diff).toBeLessThan(1e-6);
          tf.dispose([fused, composed]);
        }
        tf.dispose([p, Q]);
      }
    });
  });
}
