// Runs every corpus model whose ops are all supported through our
// interpreter (reference kernels) and compares with the outputs LiteRT.js
// stored for the same inputs: within 1e-4 relative (max |diff| / max |ref|).
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import type { TypedArray } from '../../src/kernels/reference/typed-tensor.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { supportedOps } from '../../src/tflite/ops/registry.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { completedRuns, CORPUS_DIR, corpusModels } from '../support/tflite-corpus.js';

const supported = new Set(supportedOps());
const runnable = corpusModels.filter((m) => Object.keys(m.ops).every((op) => supported.has(op)));
const unsupported = corpusModels.filter((m) => !runnable.includes(m));

// LiteRT's group_norm_2_groups_op.tflite is a GPU-delegate test file whose
// decomposition computes x - x (so the output is beta): LiteRT on CPU runs
// the decomposition, so we compare with our fast path off. The fast path
// itself is checked against the reference group norm in interpreter tests.
const DECOMPOSITION_ONLY = new Set(['group_norm_composite_float']);

const runs = completedRuns(runnable);

describe('corpus models through the interpreter match LiteRT.js', () => {
  const loaded = new Map<string, Interpreter>();
  afterAll(() => {
    for (const i of loaded.values()) i.close();
  });

  it('covers most of the corpus', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(10);
  });

  it.each(runs)('$label', ({ model, run }) => {
    let interp = loaded.get(model.id);
    if (!interp) {
      interp = Interpreter.load(CORPUS_DIR + model.file, { compositeFastPaths: !DECOMPOSITION_ONLY.has(model.id) });
      loaded.set(model.id, interp);
    }
    const runner = interp.getSignatureRunner(run.signature ?? undefined);
    const inputs: Record<string, TypedArray> = {};
    run.input_details.forEach((d, i) => {
      inputs[d.name] = readNpy(CORPUS_DIR + run.inputs[i]!).data as TypedArray;
    });
    const result = runner.invoke(inputs);
    expect(Object.keys(result).sort()).toEqual(run.outputs.map((o) => o.name).sort());
    for (const o of run.outputs) {
      const expected = readNpy(CORPUS_DIR + o.file);
      const got = result[o.name]!;
      expect(got.shape, o.name).toEqual(expected.shape);
      expect(got.dtype, o.name).toBe(expected.dtype);
      expect(relativeError(got.data as Float32Array, expected.data as Float32Array), o.name).toBeLessThan(1e-4);
    }
  });

  it.each(unsupported.map((m) => ({ id: m.id, file: m.file, ops: Object.keys(m.ops).filter((op) => !supported.has(op)) })))(
    '$id fails at load naming its unsupported op',
    ({ file, ops }) => {
      expect(() => Interpreter.load(CORPUS_DIR + file)).toThrow(new RegExp(`unsupported op.*${ops[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*supported ops: ABS, ADD`));
    },
  );
});
