// Proves the LiteRT.js harness: every corpus run (real converter-made
// models, stored inputs) gives the outputs the corpus stored from the same
// LiteRT.js version. Single thread must match them bit for bit; the threaded
// build is checked too, within float32 rounding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteRt, type LiteRt, type LiteRtData, type LiteRtModel } from '../../bench/peers/litert.js';
import { readNpy } from '../../src/io/npy.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { completedRuns, CORPUS_DIR, corpusModels } from '../support/tflite-corpus.js';

const runs = completedRuns(corpusModels);

function readData(file: string): { shape: number[]; data: LiteRtData } {
  const arr = readNpy(CORPUS_DIR + file);
  if (!(arr.data instanceof Float32Array || arr.data instanceof Int32Array || arr.data instanceof Uint8Array)) {
    throw new Error(`${file}: ${arr.dtype} is not an input type LiteRT.js takes`);
  }
  return { shape: arr.shape, data: arr.data };
}

describe.each([1, 2] as const)('LiteRT.js corpus outputs, %i thread(s)', (threads) => {
  let rt: LiteRt;
  const loaded = new Map<string, LiteRtModel>();
  beforeAll(async () => {
    rt = await loadLiteRt({ threads });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('uses the threads asked for', () => {
    expect(rt.threads).toBe(threads);
  });

  it.each(runs)('$label', async ({ model, run }) => {
    if (!loaded.has(model.id)) loaded.set(model.id, await rt.loadModel(CORPUS_DIR + model.file));
    const compiled = loaded.get(model.id)!;
    // Inputs by name (the stored files follow the signature's input order).
    const inputs = Object.fromEntries(run.input_details.map((d, i) => [d.name, readData(run.inputs[i]!)]));
    const result = await compiled.run(inputs, run.signature === null ? {} : { signature: run.signature });

    expect(result.outputs.map((o) => o.name)).toEqual(run.outputs.map((o) => o.name));
    for (const [i, stored] of run.outputs.entries()) {
      const expected = readData(stored.file);
      const actual = result.outputs[i]!;
      expect(actual.shape).toEqual(expected.shape);
      expect(actual.dtype).toBe(stored.dtype);
      if (threads === 1) expect(firstBitDifference(actual.data, expected.data)).toBe(-1);
      else expect(relativeError(actual.data, expected.data)).toBeLessThanOrEqual(1e-5);
    }
  });
});

/** Index of the first element whose bits differ, -1 when identical (vitest's deep equality is slow on 1M elements). */
function firstBitDifference(a: LiteRtData, b: LiteRtData): number {
  const bytes = (x: LiteRtData) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  if (a.constructor !== b.constructor || a.length !== b.length) return 0;
  if (bytes(a).equals(bytes(b))) return -1;
  return a.findIndex((v, i) => !Object.is(v, b[i]));
}
