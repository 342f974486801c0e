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

describe('thread count', () => {
  it('gives bit-identical results on 1 and 2 threads (converted-style graph: conv, group norm, attention)', async () => {
    const { addGroupNormChannelStats } = await import('./interpreter-graphs.js');
    const m = new TfliteModelBuilder();
    const g = m.main;
    const shape: [number, number, number, number] = [1, 9, 7, 16];
    const x = g.addInput('x', 'FLOAT32', shape);
    const c = g.addTensor('c', 'FLOAT32', shape);
    g.addOperator('CONV_2D', [x, g.addConstant('w', 'FLOAT32', [16, 3, 3, 16], bytesOf(random(16 * 9 * 16, 20))), -1], [c], { padding: 'SAME', strideH: 1, strideW: 1 });
    const n = addGroupNormChannelStats(g, c, g.addConstant('g', 'FLOAT32', [16], bytesOf(random(16, 21))), g.addConstant('b', 'FLOAT32', [16], bytesOf(random(16, 22))), shape, 4, 1e-5, true);
    g.markOutput(n);
    const bytes = m.toBuffer();
    const one = await createKernelRuntime({ threads: 1, variant: 'simd' });
    try {
      const feeds = { x: random(9 * 7 * 16, 23) };
      const a = Interpreter.load(bytes, wasmInterpreterOptions(one)).getSignatureRunner().invoke(feeds);
      const b = Interpreter.load(bytes, wasmInterpreterOptions(runtime)).getSignatureRunner().invoke(feeds);
      expect(runtime.threads).toBe(2);
      expect(Object.values(b)[0]!.data).toEqual(Object.values(a)[0]!.data);
    } finally {
      await one.close();
    }
  });
});

/** The WebAssembly overrides with a count of the nodes each one ran. */
function counted(runtime: KernelRuntime) {
  const options = wasmInterpreterOptions(runtime);
  const runs: Record<string, number> = {};
  const kernels = Object.fromEntries(Object.entries(options.kernels).map(([op, k]) => [op, {
    ...k,
    run: (node: Parameters<typeof k.run>[0], ctx: Parameters<typeof k.run>[1]) => {
      runs[op] = (runs[op] ?? 0) + 1;
      k.run(node, ctx);
    },
  }]));
  return { options: { ...options, kernels }, runs };
}

describe('graphs on the WebAssembly kernels agree with the reference kernels', () => {
  function compare(build: (g: import('../../src/tflite/writer.js').SubgraphBuilder) => number, feeds: Record<string, Float32Array>, expectRuns: Record<string, number>) {
    const m = new TfliteModelBuilder();
    m.main.markOutput(build(m.main));
    const bytes = m.toBuffer();
    const reference = Interpreter.load(bytes).getSignatureRunner().invoke(feeds);
    const { options, runs } = counted(runtime);
    const fast = Interpreter.load(bytes, options).getSignatureRunner().invoke(feeds);
    const name = Object.keys(reference)[0]!;
    expect(fast[name]!.shape).toEqual(reference[name]!.shape);
    expect(relativeError(fast[name]!.data as Float32Array, reference[name]!.data as Float32Array)).toBeLessThan(2e-6);
    expect(runs).toEqual(expectRuns);
  }

  it('converter-style group norm + SiLU, 1x1 conv, elementwise', async () => {
    const { addGroupNormChannelStats } = await import('./interpreter-graphs.js');
    const shape: [number, number, number, number] = [2, 5, 3, 16];
    compare((g) => {
      const x = g.addInput('x', 'FLOAT32', shape);
      const gamma = g.addConstant('g', 'FLOAT32', [16], bytesOf(random(16, 1, 0.5, 1.5)));
      const beta = g.addConstant('b', 'FLOAT32', [16], bytesOf(random(16, 2)));
      const n = addGroupNormChannelStats(g, x, gamma, beta, shape, 4, 1e-5, true);
      const y = g.addTensor('y', 'FLOAT32', [2, 5, 3, 7]);
      g.addOperator('CONV_2D', [n, g.addConstant('w', 'FLOAT32', [7, 1, 1, 16], bytesOf(random(112, 3))), g.addConstant('bias', 'FLOAT32', [7], bytesOf(random(7, 4)))], [y], {
        padding: 'SAME', strideH: 1, strideW: 1, fusedActivationFunction: 'RELU',
      });
      const z = g.addTensor('z', 'FLOAT32', [2, 5, 3, 7]);
      g.addOperator('MUL', [y, g.addConstant('s', 'FLOAT32', [7], bytesOf(random(7, 5)))], [z]);
      const e = g.addTensor('e', 'FLOAT32', [2, 5, 3, 7]);
      g.addOperator('TANH', [z], [e]);
      return e;
    }, { x: random(2 * 5 * 3 * 16, 6, -2, 2) }, { FUSED_GROUP_NORM: 1, CONV_2D: 1, MUL: 1, TANH: 1 });
  });

  it.each([
    ['3x3 SAME stride 1', [3, 3], 'SAME', [1, 1], [1, 1]],
    ['3x3 VALID stride 2', [3, 3], 'VALID', [2, 2], [1, 1]],
    ['3x2 SAME stride 2x1 dilation 1x2', [3, 2], 'SAME', [2, 1], [1, 2]],
  ] as const)('CONV_2D %s (im2col + GEMM), fp16 weights', (_, [kh, kw], padding, [sh, sw], [dh, dw]) => {
    const half = f32ArrayToF16(random(9 * kh * kw * 6, 13));
    compare((g) => {
      const x = g.addInput('x', 'FLOAT32', [2, 11, 9, 6]);
      const w16 = g.addConstant('w16', 'FLOAT16', [9, kh, kw, 6], bytesOf(half));
      const w = g.addTensor('w', 'FLOAT32', [9, kh, kw, 6]);
      g.addOperator('DEQUANTIZE', [w16], [w]);
      const y = g.addTensor('y', 'FLOAT32', [1]);
      g.addOperator('CONV_2D', [x, w, g.addConstant('b', 'FLOAT32', [9], bytesOf(random(9, 14)))], [y], {
        padding, strideH: sh, strideW: sw, dilationHFactor: dh, dilationWFactor: dw, fusedActivationFunction: 'RELU6',
      });
      return y;
    }, { x: random(2 * 11 * 9 * 6, 15) }, { CONV_2D: 1 });
  });

  it('CONV_2D over more positions than one im2col chunk holds (8 MB: 3640 rows of 3x3x64)', () => {
    compare((g) => {
      const x = g.addInput('x', 'FLOAT32', [1, 64, 64, 64]);
      const y = g.addTensor('y', 'FLOAT32', [1]);
      g.addOperator('CONV_2D', [x, g.addConstant('w', 'FLOAT32', [4, 3, 3, 64], bytesOf(random(4 * 9 * 64, 16))), -1], [y], { padding: 'SAME', strideH: 1, strideW: 1 });
      return y;
    }, { x: random(64 * 64 * 64, 17) }, { CONV_2D: 1 });
  });

  it('layer norm, attention with a mask, softmax and GELU', async () => {
    const { addAttention, addLayerNorm } = await import('./interpreter-graphs.js');
    const dims = { b: 2, t: 5, s: 7, n: 3, h: 8 };
    compare((g) => {
      const q0 = g.addInput('q', 'FLOAT32', [2, 5, 3, 8]);
      const q = addLayerNorm(g, q0, g.addConstant('lg', 'FLOAT32', [8], bytesOf(random(8, 7, 0.5, 1.5))), g.addConstant('lb', 'FLOAT32', [8], bytesOf(random(8, 8))), [2, 5, 3, 8], 1e-5);
      const k = g.addInput('k', 'FLOAT32', [2, 7, 3, 8]);
      const v = g.addInput('v', 'FLOAT32', [2, 7, 3, 8]);
      const mask = g.addInput('mask', 'FLOAT32', [1, 1, 5, 7]);
      const o = addAttention(g, q, k, v, mask, dims, 0.35);
      const sm = g.addTensor('sm', 'FLOAT32', [2, 5, 3, 8]);
      g.addOperator('SOFTMAX', [o], [sm], { beta: 0.7 });
      const y = g.addTensor('y', 'FLOAT32', [2, 5, 3, 8]);
      g.addOperator('GELU', [sm], [y], { approximate: false });
      return y;
    }, { q: random(240, 9), k: random(336, 10), v: random(336, 11), mask: Float32Array.from(random(35, 12), (m) => (m > 0.7 ? -1e9 : 0)) },
    { FUSED_LAYER_NORM: 1, FUSED_ATTENTION: 1, SOFTMAX: 1, GELU: 1 });
  });
});
