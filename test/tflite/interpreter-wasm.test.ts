// The WebAssembly kernels plugged into the interpreter: FULLY_CONNECTED on
// the SIMD GEMM with activations in the kernels' shared memory, on fp32,
// fp16 and int8 weights, against the reference kernel; corpus models with
// FULLY_CONNECTED still match LiteRT.js.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f16ArrayToF32, f32ArrayToF16 } from '../../src/io/half.js';
import { readNpy } from '../../src/io/npy.js';
import { fullyConnected } from '../../src/kernels/reference/fully-connected.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { bytesOf, random } from './ops-harness.js';

let runtime: KernelRuntime;
beforeAll(async () => {
  runtime = await createKernelRuntime({ threads: 2, variant: 'simd' });
});
afterAll(async () => {
  await runtime?.close();
});

type Weights = { type: 'FLOAT32'; data: Float32Array } | { type: 'FLOAT16'; data: Uint16Array } | { type: 'INT8'; data: Int8Array; scale: number[] };

function fcModel(w: Weights, units: number, depth: number, activation: 'NONE' | 'RELU6' | 'TANH'): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', [-1, 3, depth]);
  const wi = g.addConstant('w', w.type, [units, depth], bytesOf(w.data), w.type === 'INT8' ? { quantization: { scale: w.scale, quantizedDimension: 0 } } : {});
  const b = g.addConstant('b', 'FLOAT32', [units], bytesOf(random(units, 5)));
  const y = g.addTensor('y', 'FLOAT32', [-1, 3, units]);
  g.addOperator('FULLY_CONNECTED', [x, wi, b], [y], { keepNumDims: true, fusedActivationFunction: activation });
  g.markOutput(y);
  return m.toBuffer();
}

describe('FULLY_CONNECTED on the WebAssembly GEMM', () => {
  const [units, depth] = [13, 37];
  const wf = random(units * depth, 1);
  const half = f32ArrayToF16(wf);
  const q = Int8Array.from(random(units * depth, 2, -127, 127), Math.round);
  const scale = Array.from(random(units, 3, 0.001, 0.01), Math.fround);
  const cases: Array<[string, Weights, Float32Array]> = [
    ['float32', { type: 'FLOAT32', data: wf }, wf],
    ['float16', { type: 'FLOAT16', data: half }, f16ArrayToF32(half)],
    ['int8 per channel', { type: 'INT8', data: q, scale }, Float32Array.from(q, (v, i) => v * scale[Math.floor(i / depth)]!)],
  ];

  it.each(cases)('%s weights, RELU6, batch resized', (_, w, dense) => {
    const interp = Interpreter.load(fcModel(w, units, depth, 'RELU6'), wasmInterpreterOptions(runtime));
    const runner = interp.getSignatureRunner();
    for (const batch of [2, 5]) {
      runner.resizeInput('x', [batch, 3, depth]);
      const x = random(batch * 3 * depth, batch);
      const out = runner.invoke({ x }).y!;
      const want = fullyConnected({ data: x, shape: [batch, 3, depth] }, { data: dense, shape: [units, depth] }, { data: random(units, 5), shape: [units] }, {
        keepNumDims: true, activation: 'RELU6',
      });
      expect(out.shape).toEqual([batch, 3, units]);
      expect(relativeError(out.data as Float32Array, want.data)).toBeLessThan(1e-5);
    }
    const node = runner.executor.steps[0]!.node;
    expect(node.kernelState).toBeDefined(); // packed by the wasm kernel
    expect(runner.executor.tensors[0]!.data.buffer).toBe(runtime.memory.buffer);
  });

  it('leaves nodes it cannot take (TANH activation) to the reference kernel', () => {
    const runner = Interpreter.load(fcModel({ type: 'FLOAT32', data: wf }, units, depth, 'TANH'), wasmInterpreterOptions(runtime)).getSignatureRunner();
    const x = random(3 * depth, 9);
    const out = runner.invoke({ x }).y!;
    const want = fullyConnected({ data: x, shape: [1, 3, depth] }, { data: wf, shape: [units, depth] }, { data: random(units, 5), shape: [units] }, {
      keepNumDims: true, activation: 'TANH',
    });
    expect(out.data).toEqual(want.data);
    expect(runner.executor.steps[0]!.node.kernelState).toBeUndefined();
  });

  it.each(['hello_world_float', 'ff_block_float', 'attn_vec_einsum_float'])('corpus %s matches LiteRT.js', (id) => {
    const corpus = fileURLToPath(new URL('../fixtures/tflite-corpus/', import.meta.url));
    const runner = Interpreter.load(`${corpus}models/${id}.tflite`, wasmInterpreterOptions(runtime)).getSignatureRunner();
    const dir = `${corpus}${id}/default/litert/`;
    const name = runner.inputNames[0]!;
    const out = runner.invoke({ [name]: readNpy(`${dir}input_0_${name}.npy`).data as Float32Array });
    const [outName, value] = Object.entries(out)[0]!;
    const want = readNpy(`${dir}output_0_${outName}.npy`).data as Float32Array;
    expect(relativeError(value.data as Float32Array, want)).toBeLessThan(1e-4);
  });
});
