// Inspecting a model's quantized tensors, also when tfjs has renamed its variables
// (a second model with the same layer names in one process gets `fc1/kernel_1`, ...).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  estimatePackedBytes,
  inspectQuantized,
  modelForConfig,
  resolveTrainConfig,
} from '../../src/train/index.js';
import { useBackend } from '../helpers.js';
import { blobs } from './fixtures.js';

beforeAll(() => useBackend('wasm'));

describe('inspectQuantized and estimatePackedBytes', () => {
  it('name tensors by weight, and size the packed model', async () => {
    const config = resolveTrainConfig({ hidden: [16], bits: 2 });
    const data = blobs();
    const first = modelForConfig(config, data);
    const second = modelForConfig(config, data);
    for (const model of [first, second]) {
      const q = await inspectQuantized(config, model);
      expect(q.map((t) => t.name)).toEqual(['fc1/kernel', 'logits/kernel']);
      expect(q.map((t) => [t.groups, t.maxLevels])).toEqual([
        [1, 4],
        [1, 4],
      ]);
      expect(q[0].distinct).toBe(8 * 16); // freshly initialized: all different
      expect(q[0].levels).toBeUndefined(); // more than 4 values: no level list
      const size = estimatePackedBytes(model, q);
      const params = 8 * 16 + 16 + 16 * 3 + 3;
      expect(size.float32).toBe(4 * params);
      expect(size.packed).toBe(
        Math.ceil((8 * 16 * 2) / 8) + 16 + 4 * 16 + Math.ceil((16 * 3 * 2) / 8) + 16 + 4 * 3,
      );
    }
    first.dispose();
    second.dispose();
    expect(
      await inspectQuantized(resolveTrainConfig({ method: 'fp' }), modelForConfig(config, data)),
    ).toEqual([]);
  });
});
