/// <reference types="node" />
/** parq-conformance/1 files are validated before any case runs: one error naming case and field. */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkVectorsFile } from '../../src/conformance/vectors-file.js';

const VECTORS = new URL('../../../shared/conformance/vectors.json', import.meta.url).pathname;

describe.runIf(existsSync(VECTORS))('conformance vector file validation', () => {
  const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as { cases: Record<string, any>[] };
  const first = (kind: string) => file.cases.findIndex((c) => c.kind === kind);
  const edited = (i: number, edit: (c: Record<string, any>) => void) => {
    const c = structuredClone(file.cases[i]);
    edit(c);
    return { ...file, cases: [...file.cases.slice(0, i), c, ...file.cases.slice(i + 1)] };
  };

  it('the shared files are well formed', () => {
    expect(() => checkVectorsFile(file)).not.toThrow();
    const optimal = VECTORS.replace('vectors.json', 'vectors-optimal.json');
    expect(() => checkVectorsFile(JSON.parse(readFileSync(optimal, 'utf8')))).not.toThrow();
  });

  it('refuses a null case, an unknown kind and a file without cases', () => {
    expect(() => checkVectorsFile({ ...file, cases: [null] })).toThrow(
      /^case 0: expected an object, got null$/,
    );
    expect(() => checkVectorsFile(edited(0, (c) => (c.kind = 'train')))).toThrow(
      /case 0 field 'kind': expected one of quantize/,
    );
    expect(() => checkVectorsFile({ format: 'parq-conformance/1' })).toThrow(
      /not a conformance file/,
    );
  });

  it('bounds the optimizer loop and checks every tensor it reads', () => {
    const i = first('optimizer');
    expect(() => checkVectorsFile(edited(i, (c) => (c.steps = 1e12)))).toThrow(
      new RegExp(
        `^case ${i} \\(optimizer\\) field 'steps': expected an integer in 1\\.\\.100000, got 1000000000000$`,
      ),
    );
    expect(() => checkVectorsFile(edited(i, (c) => c.w0.data.pop()))).toThrow(
      /field 'w0\.data': expected \d+ numbers/,
    );
    expect(() => checkVectorsFile(edited(i, (c) => (c.target.shape = [1])))).toThrow(
      /field 'target\.shape'/,
    );
    expect(() => checkVectorsFile(edited(i, (c) => delete c.expect.latent))).toThrow(
      /field 'expect\.latent': expected an object/,
    );
    expect(() => checkVectorsFile(edited(i, (c) => (c.base.name = 'adam')))).toThrow(
      /field 'base\.name'/,
    );
  });

  it('checks quantize, prox and schedule fields', () => {
    const q = first('quantize');
    expect(() => checkVectorsFile(edited(q, (c) => (c.bits = 9)))).toThrow(
      new RegExp(`case ${q} \\(quantize\\) field 'bits'`),
    );
    expect(() => checkVectorsFile(edited(q, (c) => (c.input.data[0] = null)))).toThrow(
      /field 'input\.data\.0': expected a finite number/,
    );
    expect(() => checkVectorsFile(edited(q, (c) => (c.input.shape = [1e9, 1e9])))).toThrow(
      /field 'input\.shape\.0'/,
    );
    const p = first('prox');
    expect(() => checkVectorsFile(edited(p, (c) => (c.prox = 'ProxFoo')))).toThrow(
      /field 'prox': expected one of/,
    );
    const s = first('schedule');
    expect(() => checkVectorsFile(edited(s, (c) => (c.t2 = 'x')))).toThrow(
      /\(schedule\) field 't2'/,
    );
  });
});
