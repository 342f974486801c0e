// The LiteRT.js harness itself (bench/peers/litert.ts): its input checks,
// its shape_signature patch, and its error paths. The corpus test proves its
// numbers.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteRt, type LiteRt } from '../../bench/peers/litert.js';
import { withStaticShapeSignatures } from '../../bench/peers/litert-static-shapes.js';
import { FormatError, UsageError } from '../../src/errors.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';

const models = new URL('../fixtures/tflite-corpus/models/', import.meta.url);
const modelBytes = (name: string) => new Uint8Array(fs.readFileSync(new URL(name, models)));

describe('withStaticShapeSignatures', () => {
  it('replaces -1 in shape_signature by the static size and touches nothing else', () => {
    // tfjs_add4: inputs and output have shape [1,4], shape_signature [-1,4].
    const original = modelBytes('tfjs_add4.tflite');
    const before = new Uint8Array(original);
    const patched = withStaticShapeSignatures(original);
    expect(patched).not.toBe(original);
    expect(original).toEqual(before);
    const changed: number[] = [];
    for (let i = 0; i < original.length; i++) if (original[i] !== patched[i]) changed.push(i);
    // Each patched int32 goes from -1 (ff ff ff ff) to 1 (01 00 00 00).
    expect(changed.length).toBeGreaterThanOrEqual(3 * 4);
    const view = new DataView(patched.buffer, patched.byteOffset);
    for (const at of changed.filter((i) => i % 4 === 0)) {
      expect(new DataView(original.buffer, original.byteOffset).getInt32(at, true)).toBe(-1);
      expect(view.getInt32(at, true)).toBe(1);
    }
  });

  it('returns a model with no dynamic dims unchanged', () => {
    const original = modelBytes('mobilenet_v1_0.25_224_float.tflite');
    expect(withStaticShapeSignatures(original)).toBe(original);
  });

  it('rejects a truncated file with a FormatError naming the field', () => {
    const truncated = modelBytes('tfjs_add4.tflite').subarray(0, 200);
    expect(() => withStaticShapeSignatures(truncated, 'add4.tflite')).toThrow(FormatError);
    expect(() => withStaticShapeSignatures(truncated, 'add4.tflite')).toThrow(/add4\.tflite: .*outside the file/);
  });
});

describe('LiteRT.js harness', () => {
  let rt: LiteRt;
  beforeAll(async () => {
    rt = await loadLiteRt({ threads: 1 });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('runs a dynamic-batch model once its shape_signature is made static', async () => {
    const model = await rt.loadModel(new URL('tfjs_add4.tflite', models).pathname);
    const [signature] = model.signatures;
    expect(signature!.inputs.map((i) => i.shape)).toEqual([[1, 4], [1, 4]]);
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([10, 20, 30, 40]);
    const byName = await model.run({ [signature!.inputs[0]!.name]: a, [signature!.inputs[1]!.name]: b });
    const byOrder = await model.run([a, b]);
    expect(Array.from(byName.outputs[0]!.data)).toEqual([11, 22, 33, 44]);
    expect(byOrder.outputs[0]!.data).toEqual(byName.outputs[0]!.data);
    expect(byName.outputs[0]!.shape).toEqual([1, 4]);
    expect(byName.ms).toBeGreaterThan(0);
    const timing = await model.time([a, b], { warmup: 1, repeat: 3 });
    expect(timing.ms).toHaveLength(3);
    expect(timing.cpuMs).toBeGreaterThanOrEqual(0);
    await model.dispose();
  });

  it('checks inputs against the signature before sending them', async () => {
    const model = await rt.loadModel(modelBytes('multi_signature_add_mul_sub.tflite'));
    const x = new Float32Array(100);
    await expect(model.run({ a: x })).rejects.toThrow(UsageError);
    await expect(model.run({ a: x, b: x, c: x })).rejects.toThrow(/no input c/);
    await expect(model.run({ a: new Int32Array(100), b: x })).rejects.toThrow(/wants float32 data, got Int32Array/);
    await expect(model.run({ a: x, b: new Float32Array(99) })).rejects.toThrow(/does not fit 99 elements/);
    await expect(model.run({ a: x, b: x }, { signature: 'div' })).rejects.toThrow(/no signature "div"/);
    const sub = await model.run({ a: x.fill(5), b: new Float32Array(100).fill(2) }, { signature: 'sub' });
    expect(sub.outputs[0]!.data[0]).toBe(3);
  });

  it("reports LiteRT.js's own refusals as errors, and keeps working after them", async () => {
    await expect(rt.loadModel(new Uint8Array(64))).rejects.toThrow(/LiteRT\.js: Failed to load model/);
    const model = await rt.loadModel(modelBytes('softmax_1x256x256x3.tflite'));
    const wrongShape = { data: new Float32Array(256 * 256 * 3), shape: [1, 256, 768] };
    await expect(model.run([wrongShape])).rejects.toThrow(/does not match expected ranked tensor type/);
    const ok = await model.run([new Float32Array(256 * 256 * 3)]);
    expect(ok.outputs[0]!.data[0]).toBeCloseTo(1 / 3, 6);
  });

  it('fails a model LiteRT.js cannot run (it only logs "ERROR:") instead of returning its zeros', async () => {
    // 8 heads of 4096x40 @ 40x4096: XNNPACK cannot delegate it and the fallback cannot allocate it.
    const m = new TfliteModelBuilder();
    const a = m.main.addInput('a', 'FLOAT32', [8, 4096, 40]);
    const b = m.main.addInput('b', 'FLOAT32', [8, 40, 4096]);
    const y = m.main.addTensor('y', 'FLOAT32', [8, 4096, 4096]);
    m.main.addOperator('BATCH_MATMUL', [a, b], [y], {});
    m.main.markOutput(y);
    await expect(rt.loadModel(m.toBuffer())).rejects.toThrow(/LiteRT\.js logged an error: ERROR: failed to delegate BATCH_MATMUL/);
  });
});
