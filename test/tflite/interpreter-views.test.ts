// Running without copies: inputTensor()/outputTensor() are views of the
// arena, invoke() without inputs runs on what they hold and returns views,
// views of an older memory plan are refused, and an input passed that
// already is its view is not copied.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { conv2d } from '../../src/kernels/reference/conv2d.js';
import { fullyConnected } from '../../src/kernels/reference/fully-connected.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { bytesOf, random } from './ops-harness.js';

const W = random(4 * 3 * 3 * 3, 1);

/** CONV_2D over x [1, -1, -1, 3] (dynamic spatial dims) then ADD of a second input b [4]. */
function convAddModel(): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', [1, -1, -1, 3]);
  const w = g.addConstant('w', 'FLOAT32', [4, 3, 3, 3], bytesOf(W));
  const y = g.addTensor('y', 'FLOAT32', [1, -1, -1, 4]);
  g.addOperator('CONV_2D', [x, w, -1], [y], { padding: 'SAME', strideH: 1, strideW: 1 });
  const b = g.addInput('b', 'FLOAT32', [4]);
  const z = g.addTensor('z', 'FLOAT32', [1, -1, -1, 4]);
  g.addOperator('ADD', [y, b], [z]);
  g.markOutput(z);
  m.addSignature('run', { args_0: x, args_1: b }, { output_0: z });
  return m.toBuffer();
}

function convAddReference(x: Float32Array, b: Float32Array, h: number, w: number): Float32Array {
  const conv = conv2d({ data: x, shape: [1, h, w, 3] }, { data: W, shape: [4, 3, 3, 3] }, null, { padding: 'SAME', stride: [1, 1] });
  return Float32Array.from(conv.data, (v, i) => v + b[i % 4]!);
}

describe('running on arena views (no copies)', () => {
  it('runs on what was written into the input views and returns the output view', () => {
    const runner = Interpreter.load(convAddModel()).getSignatureRunner();
    runner.resizeInput('args_0', [1, 5, 6, 3]);
    const x = random(5 * 6 * 3, 2);
    const b = Float32Array.of(1, -2, 3, -4);
    runner.inputTensor('args_0').set(x);
    runner.inputTensor('args_1').set(b);
    const out = runner.invoke().output_0!;
    expect(out.shape).toEqual([1, 5, 6, 4]);
    expect(out.data).toEqual(convAddReference(x, b, 5, 6));
    const view = runner.outputTensor('output_0');
    expect(out.data.buffer).toBe(view.buffer);
    expect(out.data.byteOffset).toBe(view.byteOffset);
    expect(out.data.length).toBe(view.length);
  });

  it('overwrites returned views on the next invoke; copies stay as they were', () => {
    const runner = Interpreter.load(convAddModel()).getSignatureRunner();
    runner.resizeInput('args_0', [1, 4, 4, 3]);
    const [x1, x2] = [random(48, 3), random(48, 4)];
    const b = Float32Array.of(0.5, 0.25, 0, -1);
    const copied = runner.invoke({ args_0: x1, args_1: b }).output_0!; // with inputs: a copy by default
    const input = runner.inputTensor('args_0');
    input.set(x1);
    const viewed = runner.invoke().output_0!; // no inputs: a view by default
    const asCopy = runner.invoke(undefined, { outputs: 'copy' }).output_0!;
    expect(viewed.data).toEqual(convAddReference(x1, b, 4, 4));
    input.set(x2);
    const second = runner.invoke({ args_0: x2, args_1: b }, { outputs: 'view' }).output_0!;
    const want2 = convAddReference(x2, b, 4, 4);
    expect(second.data).toEqual(want2);
    expect(viewed.data).toEqual(want2); // the same arena bytes
    expect(copied.data).toEqual(convAddReference(x1, b, 4, 4));
    expect(asCopy.data).toEqual(convAddReference(x1, b, 4, 4));
  });

  it('does not copy an input that already is its arena view', () => {
    const runner = Interpreter.load(convAddModel()).getSignatureRunner();
    runner.resizeInput('args_0', [1, 3, 3, 3]);
    const x = runner.inputTensor('args_0');
    const values = random(27, 5);
    x.set(values);
    const b = Float32Array.of(1, 1, 1, 1);
    const setInput = vi.spyOn(runner.executor, 'setInput');
    const out = runner.invoke({ args_0: x, args_1: b }).output_0!;
    expect(setInput.mock.calls.map(([position]) => position)).toEqual([1]); // only b, a separate array, was copied
    expect(out.data).toEqual(convAddReference(values, b, 3, 3));
  });

  it('refuses inputs not written since the last resize, then runs on fresh views', () => {
    const runner = Interpreter.load(convAddModel()).getSignatureRunner();
    expect(() => runner.invoke()).toThrow(/inputs args_0, args_1 not written for the current shapes/);
    runner.resizeInput('args_0', [1, 2, 3, 3]);
    runner.inputTensor('args_0').set(random(18, 6));
    const b = runner.inputTensor('args_1');
    b.set([1, 2, 3, 4]);
    runner.invoke();
    runner.resizeInput('args_0', [1, 2, 3, 3]); // same shape: same plan, the views still hold
    runner.invoke();
    runner.resizeInput('args_0', [1, 7, 2, 3]);
    expect(() => runner.invoke()).toThrow(/inputs args_0, args_1 not written .* taken after the last resizeInput/);
    const x = random(42, 7);
    runner.inputTensor('args_0').set(x);
    expect(() => runner.invoke()).toThrow(/input args_1 not written/);
    runner.inputTensor('args_1').set([4, 3, 2, 1]);
    expect(runner.invoke().output_0!.data).toEqual(convAddReference(x, Float32Array.of(4, 3, 2, 1), 7, 2));
  });

  it('never writes an input: one written input serves repeated invokes (as TFLite keeps inputs)', () => {
    const m = new TfliteModelBuilder();
    const x = m.main.addInput('x', 'FLOAT32', [5]);
    const y = m.main.addTensor('y', 'FLOAT32', [5]);
    m.main.addOperator('EXP', [x], [y]); // elementwise: would run in place over an input that dies here
    m.main.markOutput(y);
    const runner = Interpreter.load(m.toBuffer()).getSignatureRunner();
    const input = runner.inputTensor('x');
    input.set([0, 1, 2, 3, 4]);
    const first = runner.invoke().y!.data.slice();
    expect(first).toEqual(Float32Array.from([0, 1, 2, 3, 4], Math.exp));
    expect(input).toEqual(Float32Array.of(0, 1, 2, 3, 4));
    expect(runner.invoke().y!.data).toEqual(first);
    expect(runner.executor.memoryPlan!.offsets[x]).not.toBe(runner.executor.memoryPlan!.offsets[y]);
  });
});

describe('views in the WebAssembly kernels memory', () => {
  let runtime: KernelRuntime;
  beforeAll(async () => {
    runtime = await createKernelRuntime({ threads: 2, variant: 'simd', maximumPages: 1024 });
  });
  afterAll(async () => {
    await runtime?.close();
  });

  it('FULLY_CONNECTED reads its input view and writes its output view in the shared memory', () => {
    const [rows, depth, units] = [6, 19, 11];
    const w = random(units * depth, 8);
    const m = new TfliteModelBuilder();
    const x = m.main.addInput('x', 'FLOAT32', [rows, depth]);
    const wi = m.main.addConstant('w', 'FLOAT32', [units, depth], bytesOf(w));
    const y = m.main.addTensor('y', 'FLOAT32', [rows, units]);
    m.main.addOperator('FULLY_CONNECTED', [x, wi, -1], [y], {});
    m.main.markOutput(y);
    const interp = Interpreter.load(m.toBuffer(), wasmInterpreterOptions(runtime));
    try {
      const runner = interp.getSignatureRunner();
      const input = runner.inputTensor('x');
      expect(input.buffer).toBeInstanceOf(SharedArrayBuffer);
      for (const seed of [9, 10]) {
        const xv = random(rows * depth, seed);
        input.set(xv);
        const out = runner.invoke().y!.data;
        expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
        const want = fullyConnected({ data: xv, shape: [rows, depth] }, { data: w, shape: [units, depth] }, null, { keepNumDims: false, activation: 'NONE' });
        for (let i = 0; i < want.data.length; i++) expect(out[i]).toBeCloseTo(want.data[i]!, 4);
      }
    } finally {
      interp.close();
    }
  });
});
