// int8Compute past the arena's resident-weight budget: the hybrid int8
// FULLY_CONNECTED and 1x1 CONV_2D layers pack their INT8 weights before each
// use into the shared 'gemm' slot, from the model file for a streamed
// constant (over 1 MiB) and from the file's bytes in memory otherwise, with a
// float FULLY_CONNECTED between them taking the same slot. The outputs must
// be bit-identical to the run with every layer resident, on every run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Int8Weights } from '../../src/kernels/wasm/gemm-int8-pack.js';
import { enableRelaxedSimd } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions, type WasmKernelOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { referenceInt8 } from '../kernels/gemm-int8-reference.js';
import { bytesOf, random } from './ops-harness.js';

const [B, H, W, CIN, C1, F2, F3, F4] = [2, 3, 5, 24, 1100, 1000, 8, 13];
const ROWS = B * H * W;

function int8Weights(n: number, k: number, seed: number, perChannel: boolean, bias: boolean): Int8Weights {
  const rnd = random(n * k, seed, 0, 1);
  return {
    k, n,
    data: Int8Array.from(rnd, (v) => Math.floor(v * 255) - 127),
    scales: random(perChannel ? n : 1, seed + 1, 0.002, 0.012),
    bias: bias ? random(n, seed + 2) : undefined,
  };
}

const conv1 = int8Weights(C1, CIN, 1, true, true); // 26 KB: kept in memory
const fc2 = int8Weights(F2, C1, 4, true, true); // 1.1 MB: streamed from the file
const fc3 = random(F3 * F2, 7, -0.05, 0.05); // float weights between the int8 layers
const fc4 = int8Weights(F4, F3, 8, false, false); // one scale for the tensor
const x = random(B * H * W * CIN, 11);

/** x -> 1x1 CONV_2D (RELU) -> y1 -> FC -> y2 -> float FC (RELU) -> y3 -> FC -> y4; int8 weights INT8 + DEQUANTIZE as the converter writes them. */
function model(): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const input = g.addInput('x', 'FLOAT32', [B, H, W, CIN]);
  const int8 = (name: string, w: Int8Weights, shape: number[]) => {
    const q = g.addConstant(`${name}/q`, 'INT8', shape, bytesOf(w.data), { quantization: { scale: [...w.scales], quantizedDimension: 0 } });
    const weights = g.addTensor(`${name}/w`, 'FLOAT32', shape);
    g.addOperator('DEQUANTIZE', [q], [weights]);
    return [weights, w.bias ? g.addConstant(`${name}/b`, 'FLOAT32', [w.n], bytesOf(w.bias)) : -1];
  };
  const y1 = g.addTensor('y1', 'FLOAT32', [B, H, W, C1]);
  g.addOperator('CONV_2D', [input, ...int8('conv1', conv1, [C1, 1, 1, CIN])], [y1], { padding: 'VALID', strideH: 1, strideW: 1, fusedActivationFunction: 'RELU' });
  const y2 = g.addTensor('y2', 'FLOAT32', [ROWS, F2]);
  g.addOperator('FULLY_CONNECTED', [y1, ...int8('fc2', fc2, [F2, C1])], [y2]);
  const y3 = g.addTensor('y3', 'FLOAT32', [ROWS, F3]);
  g.addOperator('FULLY_CONNECTED', [y2, g.addConstant('fc3/w', 'FLOAT32', [F3, F2], bytesOf(fc3))], [y3], { fusedActivationFunction: 'RELU' });
  const y4 = g.addTensor('y4', 'FLOAT32', [ROWS, F4]);
  g.addOperator('FULLY_CONNECTED', [y3, ...int8('fc4', fc4, [F4, F3])], [y4]);
  for (const y of [y1, y2, y4]) g.markOutput(y);
  return m.toBuffer();
}

const runtimes = new Map<string, KernelRuntime>();
let dir: string;
let file: string;
beforeAll(async () => {
  enableRelaxedSimd();
  for (const variant of ['simd', 'relaxed'] as const) runtimes.set(variant, await createKernelRuntime({ threads: 2, variant, maximumPages: 1024 }));
  dir = mkdtempSync(join(tmpdir(), 'sd-tflite-int8-streamed-'));
  file = join(dir, 'int8-chain.tflite');
  writeFileSync(file, model());
});
afterAll(async () => {
  for (const rt of runtimes.values()) await rt.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Outputs = Record<'y1' | 'y2' | 'y4', Float32Array>;

/** Two invocations with the given resident-weight budget; the resident bytes the layers took. */
function run(rt: KernelRuntime, options: WasmKernelOptions, budget: number): { first: Outputs; second: Outputs; resident: number } {
  const arena = rt.arena;
  const [savedBudget, savedUsed, mark] = [arena.residentWeightBudget, arena.residentWeightBytes, arena.top];
  arena.residentWeightBudget = budget;
  arena.residentWeightBytes = 0;
  try {
    const interp = Interpreter.load(file, { ...wasmInterpreterOptions(rt, options), streamWeights: true });
    try {
      const runner = interp.getSignatureRunner();
      const invoke = (): Outputs => {
        const out = runner.invoke({ x });
        return { y1: Float32Array.from(out.y1!.data as Float32Array), y2: Float32Array.from(out.y2!.data as Float32Array), y4: Float32Array.from(out.y4!.data as Float32Array) };
      };
      const first = invoke();
      return { first, second: invoke(), resident: arena.residentWeightBytes };
    } finally {
      interp.close();
    }
  } finally {
    arena.reset(mark);
    arena.residentWeightBudget = savedBudget;
    arena.residentWeightBytes = savedUsed;
  }
}

describe('int8Compute with weights streamed past the resident budget', () => {
  const cases = [
    { variant: 'simd', options: true, quantization: { layout: 'i16', activations: 'asymmetric', activationBits: 12 } },
    { variant: 'relaxed', options: { layout: 'u7' }, quantization: { layout: 'u7', activations: 'asymmetric', activationBits: 7 } },
  ] as const;
  for (const { variant, options, quantization } of cases) {
    it(`${variant}, ${quantization.layout}: FULLY_CONNECTED and 1x1 CONV_2D give the resident weights' bits on every run`, () => {
      const rt = runtimes.get(variant)!;
      const resident = run(rt, { int8Compute: options }, Infinity);
      const streamed = run(rt, { int8Compute: options }, 0);
      expect(resident.resident).toBeGreaterThan(C1 * CIN + F2 * C1);
      expect(streamed.resident).toBe(0);
      for (const name of ['y1', 'y2', 'y4'] as const) {
        expect(streamed.first[name], name).toEqual(resident.first[name]);
        expect(streamed.second[name], name).toEqual(resident.first[name]); // packed again after the other layers took the slot
        expect(resident.second[name], name).toEqual(resident.first[name]);
      }
      // The first layer is the hybrid GEMM (an independent reference), not the float path.
      expect(resident.first.y1).toEqual(referenceInt8(x, CIN, ROWS, conv1, quantization, [0, Infinity]));
    });
  }
});
