// The Interpreter API: entry points (signatures or subgraph 0), input
// checks, resizing dynamic dims, load-time errors for unsupported ops, fast
// kernels plugged in per op, and a custom arena (the WebAssembly seam).
import { describe, expect, it } from 'vitest';
import { SdError, UsageError } from '../../src/errors.js';
import { conv2d } from '../../src/kernels/reference/conv2d.js';
import { resizeNearest } from '../../src/kernels/reference/resize.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { WasmArena } from '../../src/kernels/wasm/arena.js';
import { WasmMemoryArena, type TensorArena } from '../../src/tflite/interpreter/tensor-arena.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { bytesOf, random } from './ops-harness.js';

/** conv (dynamic spatial dims, as the SD files) + ADD, with a signature. */
function dynamicConvModel(): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('serving_x', 'FLOAT32', [1, -1, -1, 3]);
  const w = g.addConstant('w', 'FLOAT32', [4, 3, 3, 3], bytesOf(random(108, 1)));
  const y = g.addTensor('y', 'FLOAT32', [1, -1, -1, 4]);
  g.addOperator('CONV_2D', [x, w, -1], [y], { padding: 'SAME', strideH: 2, strideW: 1 });
  const bias = g.addInput('serving_b', 'FLOAT32', [4]);
  const z = g.addTensor('z', 'FLOAT32', [1, -1, -1, 4]);
  g.addOperator('ADD', [y, bias], [z]);
  g.markOutput(z);
  m.addSignature('run', { args_0: x, args_1: bias }, { output_0: z });
  return m.toBuffer();
}

describe('signature runners', () => {
  it('uses the first signature by default and names tensors by the signature', () => {
    const interp = Interpreter.load(dynamicConvModel());
    const runner = interp.getSignatureRunner();
    expect(runner.key).toBe('run');
    expect(interp.getSignatureRunner('run')).toBe(runner);
    expect(runner.inputNames).toEqual(['args_0', 'args_1']);
    expect(runner.outputNames).toEqual(['output_0']);
    expect(runner.inputDetails()[0]).toEqual({ name: 'args_0', dtype: 'float32', shape: [1, 1, 1, 3], shapeSignature: [1, -1, -1, 3] });
    expect(() => interp.getSignatureRunner('nope')).toThrow(/no signature 'nope' \(signatures: run\)/);
  });

  it('resizes dynamic dims and recomputes shapes and memory', () => {
    const runner = Interpreter.load(dynamicConvModel()).getSignatureRunner();
    const b = Float32Array.of(1, 2, 3, 4);
    for (const [h, w] of [[9, 7], [5, 11]] as const) {
      runner.resizeInput('args_0', [1, h, w, 3]);
      const x = random(h * w * 3, h);
      const out = runner.invoke({ args_0: x, args_1: b }).output_0!;
      const conv = conv2d({ data: x, shape: [1, h, w, 3] }, { data: random(108, 1), shape: [4, 3, 3, 3] }, null, { padding: 'SAME', stride: [2, 1] });
      expect(out.shape).toEqual([1, Math.ceil(h / 2), w, 4]);
      expect(out.data).toEqual(Float32Array.from(conv.data, (v, i) => v + b[i % 4]!));
    }
    expect(runner.outputDetails()[0]!.shape).toEqual([1, 3, 11, 4]);
  });

  it('refuses to resize fixed dims or change rank', () => {
    const runner = Interpreter.load(dynamicConvModel()).getSignatureRunner();
    expect(() => runner.resizeInput('args_0', [2, 4, 4, 3])).toThrow(/dim 0 is fixed at 1/);
    expect(() => runner.resizeInput('args_0', [4, 4, 3])).toThrow(/rank must stay 4/);
    expect(() => runner.resizeInput('x', [1, 4, 4, 3])).toThrow(/no input named 'x' \(inputs: args_0, args_1\)/);
  });

  it('checks inputs: all given, right type, right size', () => {
    const runner = Interpreter.load(dynamicConvModel()).getSignatureRunner();
    runner.resizeInput('args_0', [1, 2, 2, 3]);
    const b = new Float32Array(4);
    expect(() => runner.invoke({ args_0: new Float32Array(12) })).toThrow(/missing input args_1/);
    expect(() => runner.invoke({ args_0: new Int32Array(12), args_1: b })).toThrow(/must be float32.*Int32Array/);
    expect(() => runner.invoke({ args_0: new Float32Array(13), args_1: b })).toThrow(/13 elements.*\[1, 2, 2, 3\] needs 12.*resizeInput/);
    expect(() => runner.invoke({ args_0: new Float32Array(12), args_1: b, extra: b })).toThrow(UsageError);
  });

  it('runs subgraph 0 by tensor names when the file has no signature', () => {
    const m = new TfliteModelBuilder();
    const a = m.main.addInput('input_a:0', 'FLOAT32', [3]);
    const o = m.main.addTensor('Identity:0', 'FLOAT32', [3]);
    m.main.addOperator('RELU', [a], [o]);
    m.main.markOutput(o);
    const runner = Interpreter.load(m.toBuffer()).getSignatureRunner();
    expect(runner.key).toBeUndefined();
    expect(runner.invoke({ 'input_a:0': Float32Array.of(-1, 0, 2) })['Identity:0']!.data).toEqual(Float32Array.of(0, 0, 2));
  });

  it('returns copies that later invocations do not overwrite', () => {
    const runner = Interpreter.load(dynamicConvModel()).getSignatureRunner();
    const b = Float32Array.of(0, 0, 0, 0);
    const first = runner.invoke({ args_0: Float32Array.of(1, 2, 3), args_1: b }).output_0!.data.slice();
    const kept = runner.invoke({ args_0: Float32Array.of(1, 2, 3), args_1: b }).output_0!;
    runner.invoke({ args_0: Float32Array.of(9, 9, 9), args_1: b });
    expect(kept.data).toEqual(first);
  });
});

describe('run-time shapes (SHAPE computed while preparing)', () => {
  /** x [1, -1, -1, 2] -> clamp to [-0.5, 0.5] -> 2x nearest upsampling with size = SHAPE(x)[1:3] * 2 -> RESHAPE to SHAPE(up). */
  function upsampleModel(): Uint8Array {
    const m = new TfliteModelBuilder();
    const g = m.main;
    const i32 = (...v: number[]) => g.addConstant(`c${g.tensors.length}`, 'INT32', [v.length], bytesOf(Int32Array.from(v)));
    const f32 = (v: number) => g.addConstant(`f${g.tensors.length}`, 'FLOAT32', [], bytesOf(Float32Array.of(v)));
    const x = g.addInput('x', 'FLOAT32', [1, -1, -1, 2]);
    const hi = g.addTensor('hi', 'FLOAT32', [1, -1, -1, 2]);
    g.addOperator('MINIMUM', [x, f32(0.5)], [hi]);
    const clamped = g.addTensor('clamped', 'FLOAT32', [1, -1, -1, 2]);
    g.addOperator('MAXIMUM', [hi, f32(-0.5)], [clamped]);
    const shape = g.addTensor('shape', 'INT32', [4]);
    g.addOperator('SHAPE', [clamped], [shape]);
    const hw = g.addTensor('hw', 'INT32', [2]);
    g.addOperator('STRIDED_SLICE', [shape, i32(1), i32(3), i32(1)], [hw]);
    const size = g.addTensor('size', 'INT32', [2]);
    g.addOperator('MUL', [hw, i32(2, 2)], [size]);
    const up = g.addTensor('up', 'FLOAT32', [1, -1, -1, 2]);
    g.addOperator('RESIZE_NEAREST_NEIGHBOR', [clamped, size], [up]);
    const flat = g.addTensor('flat', 'FLOAT32', [-1, 2]);
    g.addOperator('RESHAPE', [up, i32(-1, 2)], [flat]);
    const upShape = g.addTensor('up_shape', 'INT32', [4]);
    g.addOperator('SHAPE', [up], [upShape]);
    const back = g.addTensor('back', 'FLOAT32', [1, -1, -1, 2]);
    g.addOperator('RESHAPE', [flat, upShape], [back]);
    g.markOutput(back, size);
    return m.toBuffer();
  }

  it('follows resized inputs through SHAPE, STRIDED_SLICE, MUL, RESIZE and RESHAPE', () => {
    const runner = Interpreter.load(upsampleModel()).getSignatureRunner();
    for (const [h, w] of [[3, 5], [4, 2]] as const) {
      runner.resizeInput('x', [1, h, w, 2]);
      const x = random(h * w * 2, h * 10 + w);
      const out = runner.invoke({ x });
      const clamped = Float32Array.from(x, (v) => Math.min(0.5, Math.max(-0.5, v)));
      expect(out.size!.data).toEqual(Int32Array.of(2 * h, 2 * w));
      expect(out.back!.shape).toEqual([1, 2 * h, 2 * w, 2]);
      expect(out.back!.data).toEqual(resizeNearest({ data: clamped, shape: [1, h, w, 2] }, [2 * h, 2 * w]).data);
    }
    // The shape arithmetic ran while preparing; only the tensor ops run per invocation.
    const running = runner.executor.steps.filter((s) => !s.atPrepare).map((s) => s.node.op);
    expect(running).toEqual(['MINIMUM', 'MAXIMUM', 'RESIZE_NEAREST_NEIGHBOR', 'RESHAPE', 'RESHAPE']);
  });
});

describe('load-time checks', () => {
  it('names an unsupported op, where it is, and the supported list', () => {
    const m = new TfliteModelBuilder();
    const a = m.main.addInput('a', 'FLOAT32', [2]);
    const b = m.main.addTensor('b', 'FLOAT32', [2]);
    const c = m.main.addTensor('c', 'FLOAT32', [2]);
    m.main.addOperator('RELU', [a], [b]);
    m.main.addCustomOperator('MyFancyOp', [b], [c]);
    m.main.markOutput(c);
    const load = () => Interpreter.load(m.toBuffer());
    expect(load).toThrow(SdError);
    expect(load).toThrow(/unsupported op CUSTOM:MyFancyOp \(subgraph 0, operator 1\); supported ops: ABS, ADD, AVERAGE_POOL_2D, .*CONV_2D.*STABLEHLO_COMPOSITE/);
  });

  it('names the operator when a shape does not fit', () => {
    const m = new TfliteModelBuilder();
    const a = m.main.addInput('a', 'FLOAT32', [2, 3]);
    const b = m.main.addInput('b', 'FLOAT32', [4]);
    const c = m.main.addTensor('c', 'FLOAT32', [2, 3]);
    m.main.addOperator('MUL', [a, b], [c]);
    m.main.markOutput(c);
    const runner = Interpreter.load(m.toBuffer()).getSignatureRunner();
    expect(() => runner.invoke({ a: new Float32Array(6), b: new Float32Array(4) })).toThrow(/subgraph 0 operator 0 \(MUL\): shapes \[2, 3\] and \[4\] do not broadcast/);
  });
});

describe('plug-ins', () => {
  function addModel(): Uint8Array {
    const m = new TfliteModelBuilder();
    const a = m.main.addInput('a', 'FLOAT32', [5]);
    const b = m.main.addInput('b', 'FLOAT32', [5]);
    const c = m.main.addTensor('c', 'FLOAT32', [5]);
    m.main.addOperator('ADD', [a, b], [c]);
    m.main.markOutput(c);
    return m.toBuffer();
  }
  const a = Float32Array.of(1, 2, 3, 4, 5);
  const b = Float32Array.of(10, 20, 30, 40, 50);

  it('runs a fast kernel where it accepts the node, the reference elsewhere', () => {
    let prepared = 0;
    const fastAdd = {
      supports: (node: { inputs: readonly ({ shape: number[] } | undefined)[] }) => node.inputs[0]!.shape[0] === 5,
      prepare: () => void prepared++,
      run: (node: { inputs: readonly ({ f32(): Float32Array } | undefined)[]; outputs: readonly { f32(): Float32Array }[] }) => {
        const [x, y] = [node.inputs[0]!.f32(), node.inputs[1]!.f32()];
        node.outputs[0]!.f32().set(x.map((v, i) => v + y[i]! + 1000)); // marked so the test sees which ran
      },
    };
    const runner = Interpreter.load(addModel(), { kernels: { ADD: fastAdd } }).getSignatureRunner();
    expect(runner.invoke({ a, b }).c!.data).toEqual(Float32Array.of(1011, 1022, 1033, 1044, 1055));
    expect(prepared).toBe(1);
    const declined = Interpreter.load(addModel(), { kernels: { ADD: { ...fastAdd, supports: () => false } } }).getSignatureRunner();
    expect(declined.invoke({ a, b }).c!.data).toEqual(Float32Array.of(11, 22, 33, 44, 55));
  });

  it('places activations in the arena it is given', () => {
    const reserved: number[] = [];
    const backing = new ArrayBuffer(4096);
    const arena: TensorArena = {
      reserve: (bytes) => void reserved.push(bytes),
      region: () => ({ buffer: backing, byteOffset: 1024 }),
    };
    const runner = Interpreter.load(addModel(), { arena: () => arena }).getSignatureRunner();
    expect(runner.invoke({ a, b }).c!.data).toEqual(Float32Array.of(11, 22, 33, 44, 55));
    expect(reserved).toEqual([runner.executor.memoryPlan!.totalBytes]);
    const c = runner.executor.outputs[0]!.data;
    expect(c.buffer).toBe(backing);
    expect(c.byteOffset).toBeGreaterThanOrEqual(1024);
  });

  it('runs with activations in WebAssembly memory and survives memory growth', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 64 });
    const wasm = new WasmArena(memory, 64, 1024);
    const runner = Interpreter.load(addModel(), { arena: () => new WasmMemoryArena(wasm) }).getSignatureRunner();
    expect(runner.invoke({ a, b }).c!.data).toEqual(Float32Array.of(11, 22, 33, 44, 55));
    const c = runner.executor.outputs[0]!.data;
    expect(c.buffer).toBe(memory.buffer);
    wasm.alloc(3 * 65536); // grows the memory: the old buffer is detached
    expect(runner.invoke({ a: b, b: a }).c!.data).toEqual(Float32Array.of(11, 22, 33, 44, 55));
    expect(runner.executor.outputs[0]!.data.buffer).toBe(memory.buffer);
  });
});
