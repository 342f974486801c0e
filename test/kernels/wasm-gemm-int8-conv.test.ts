// CONV_2D under int8Compute: a 1x1 stride-1 filter with INT8 weights runs as
// the hybrid int8 GEMM (compared bit for bit with the plain reference of
// the hybrid GEMM), a 3x3 one stays on the float kernels (bit for bit the
// result without int8Compute). Awkward sizes: 70 pixel rows, Cin 19, Cout 13.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Int8Weights } from '../../src/kernels/wasm/gemm-int8-pack.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions, type WasmKernelOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { referenceInt8 } from './gemm-int8-reference.js';
import { random, randomFloats } from './wasm-kernel-harness.js';

const [B, H, W, CIN, C1, C3] = [2, 5, 7, 19, 13, 11];
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function int8Weights(n: number, k: number, seed: number): Int8Weights {
  const rnd = random(seed);
  return {
    k, n,
    data: Int8Array.from({ length: n * k }, () => Math.round(rnd() * 254) - 127),
    scales: Float32Array.from({ length: n }, () => 0.002 + 0.01 * rnd()),
    bias: randomFloats(n, rnd),
  };
}

const pointwise = int8Weights(C1, CIN, 1);
const spatial = int8Weights(C3, 9 * CIN, 2);
const x = randomFloats(B * H * W * CIN, random(3));

/** x -> 1x1 CONV_2D (RELU) -> y1 and x -> 3x3 SAME CONV_2D -> y3, weights INT8 + DEQUANTIZE as the converter writes them. */
function model(): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const input = g.addInput('x', 'FLOAT32', [B, H, W, CIN]);
  const conv = (name: string, w: Int8Weights, kernel: number, relu: boolean) => {
    const shape = [w.n, kernel, kernel, CIN];
    const q = g.addConstant(`${name}/q`, 'INT8', shape, bytesOf(w.data), { quantization: { scale: [...w.scales], quantizedDimension: 0 } });
    const filter = g.addTensor(`${name}/w`, 'FLOAT32', shape);
    g.addOperator('DEQUANTIZE', [q], [filter]);
    const bias = g.addConstant(`${name}/b`, 'FLOAT32', [w.n], bytesOf(w.bias!));
    const y = g.addTensor(name, 'FLOAT32', [B, H, W, w.n]);
    g.addOperator('CONV_2D', [input, filter, bias], [y], { padding: 'SAME', strideH: 1, strideW: 1, fusedActivationFunction: relu ? 'RELU' : 'NONE' });
    g.markOutput(y);
  };
  conv('y1', pointwise, 1, true);
  conv('y3', spatial, 3, false);
  return m.toBuffer();
}

let file: Uint8Array;
const runtimes = new Map<string, KernelRuntime>();
beforeAll(async () => {
  file = model();
  for (const variant of ['simd', 'relaxed'] as const) {
    for (const threads of [1, 2]) runtimes.set(`${variant}x${threads}`, await createKernelRuntime({ threads, variant, maximumPages: 1024 }));
  }
});
afterAll(async () => {
  for (const rt of runtimes.values()) await rt.close();
});

function run(key: string, options: WasmKernelOptions): { y1: Float32Array; y3: Float32Array } {
  const interp = Interpreter.load(file, wasmInterpreterOptions(runtimes.get(key)!, options));
  try {
    const out = interp.getSignatureRunner().invoke({ x });
    return { y1: out.y1!.data as Float32Array, y3: out.y3!.data as Float32Array };
  } finally {
    interp.close();
  }
}

describe('CONV_2D with int8Compute', () => {
  const cases = [
    { variant: 'simd', options: true, quantization: { layout: 'i16', activations: 'asymmetric', activationBits: 12 } },
    { variant: 'relaxed', options: { layout: 'u7' }, quantization: { layout: 'u7', activations: 'asymmetric', activationBits: 7 } },
  ] as const;
  for (const { variant, options, quantization } of cases) {
    it(`${variant}, ${quantization.layout}: 1x1 as the hybrid int8 GEMM reference, 3x3 as without int8Compute, same bits on 1 and 2 threads`, () => {
      const got = run(`${variant}x2`, { int8Compute: options });
      const want = referenceInt8(x, CIN, B * H * W, pointwise, quantization, [0, Infinity]);
      expect(got.y1).toEqual(want);
      const float = run(`${variant}x2`, {});
      expect(got.y1).not.toEqual(float.y1); // the float path rounds differently: the int8 kernel did run
      expect(got.y3).toEqual(float.y3);
      const one = run(`${variant}x1`, { int8Compute: options });
      expect(one.y1).toEqual(got.y1);
      expect(one.y3).toEqual(got.y3);
    });
  }
});
