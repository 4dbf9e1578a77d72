/// <reference types="node" />
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describePacked } from '../../src/export/index.js';
import { readQuantizedFile } from '../../src/export/files.js';
import { ensureBuilt, parq } from '../cli/helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/import/', import.meta.url));
let dir: string;
beforeEach(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'parq-cli-import-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('parq import', () => {
  it('writes a packed file with the recognized levels and the import in its metadata', async () => {
    const out = join(dir, 'mlp.parq');
    const r = parq([
      'import',
      join(FIXTURES, 'mlp-torchao.safetensors'),
      '--model',
      'mlp',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('fc1/kernel: 2 bits per block of 16 (IntxUnpackedToInt8Tensor)');
    expect(r.stdout).toContain('logits/kernel: 4 bits per block of 32 (Int4Tensor)');
    const info = await describePacked(await readQuantizedFile(out));
    expect(info.metadata).toMatchObject({ source: 'import', layout: 'torchao', model: 'mlp' });
    expect(info.tensors.filter((t) => t.encoding === 'levels').map((t) => t.bits)).toEqual([2, 4]);
  });

  it('imports a ViT with --heads: 2-bit kernels packed; heads that do not divide the width refused', async () => {
    const out = join(dir, 'vit.parq');
    const r = parq([
      'import',
      join(FIXTURES, 'vit-parq2.safetensors'),
      '--model',
      'vit-tiny',
      '--heads',
      '2',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('vit-parq2.safetensors (pytorch layout): 40 tensors');
    expect(r.stdout).toContain('block1_attn_out/kernel: 2 bits per channel (distinct values)');
    const info = await describePacked(await readQuantizedFile(out));
    expect(info.metadata).toMatchObject({ source: 'import', layout: 'pytorch', model: 'vit-tiny' });
    expect(info.tensors.filter((t) => t.encoding === 'levels').length).toBe(14);
    const bad = parq([
      'import',
      join(FIXTURES, 'vit-parq2.safetensors'),
      '--model',
      'vit-tiny',
      '--heads',
      '3',
      '--out',
      join(dir, 'bad.parq'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n').pop()).toMatch(
      /^parq: .*vit-parq2\.safetensors: vit: width 32 is not a multiple of 3 heads$/,
    );
    expect(existsSync(join(dir, 'bad.parq'))).toBe(false);
  });

  it('refuses a mismatched or corrupt checkpoint with one line and exit 2, writing nothing', () => {
    const out = join(dir, 'x.parq');
    const wrong = parq([
      'import',
      join(FIXTURES, 'mlp-parq2.safetensors'),
      '--model',
      'lenet5',
      '--out',
      out,
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split('\n').pop()).toMatch(
      /^parq: .*mlp-parq2\.safetensors: no tensor 'conv1\.weight' in the checkpoint, which a lenet5 needs$/,
    );
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, Uint8Array.of(200, 0, 0, 0, 0, 0, 0, 0, 123));
    const corrupt = parq(['import', bad, '--model', 'mlp', '--out', out]);
    expect(corrupt.code).toBe(2);
    expect(corrupt.stderr).toContain('safetensors: header length 200 exceeds the file');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(['bad.safetensors']);
  });
});
