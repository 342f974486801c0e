// Winograd filters (4x the fp32 filter) count against the arena's
// resident-weight budget like packed GEMM weights: once it is used up, 3x3
// convolutions fall back to implicit GEMM with per-use packed panels. The
// two paths round differently, so each run is compared to a plain float64
// convolution rather than to the other.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { winogradFilterBytes } from '../../src/kernels/wasm/winograd-pack.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { bytesOf, random } from './ops-harness.js';

const [H, W, C, LAYERS] = [9, 7, 16, 3];
const filters = Array.from({ length: LAYERS }, (_, l) => random(C * 9 * C, 30 + l, -0.2, 0.2));
const biases = Array.from({ length: LAYERS }, (_, l) => random(C, 40 + l));

let runtime: KernelRuntime;
let dir: string;
beforeAll(async () => {
  runtime = await createKernelRuntime({ threads: 2, variant: 'simd' });
  dir = mkdtempSync(join(tmpdir(), 'sd-tflite-winograd-budget-'));
});
afterAll(async () => {
  await runtime?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** x [1, H, W, C] -> LAYERS x (3x3 SAME CONV_2D, OHWI weights, bias; RELU between) -> y. */
function convChain(): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  let x = g.addInput('x', 'FLOAT32', [1, H, W, C]);
  for (let l = 0; l < LAYERS; l++) {
    const w = g.addConstant(`w${l}`, 'FLOAT32', [C, 3, 3, C], bytesOf(filters[l]!));
    const b = g.addConstant(`b${l}`, 'FLOAT32', [C], bytesOf(biases[l]!));
    const y = g.addTensor(`y${l}`, 'FLOAT32', [1, H, W, C]);
    g.addOperator('CONV_2D', [x, w, b], [y], {
      padding: 'SAME', strideH: 1, strideW: 1, fusedActivationFunction: l < LAYERS - 1 ? 'RELU' : 'NONE',
    });
    x = y;
  }
  g.markOutput(x);
  return m.toBuffer();
}

/** The same chain by the definition, in float64. */
function referenceChain(input: Float32Array): Float64Array {
  let x = Float64Array.from(input);
  for (let l = 0; l < LAYERS; l++) {
    const [w, b] = [filters[l]!, biases[l]!];
    const y = new Float64Array(H * W * C);
    for (let oy = 0; oy < H; oy++) for (let ox = 0; ox < W; ox++) for (let o = 0; o < C; o++) {
      let s = b[o]!;
      for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
        const [iy, ix] = [oy + ky - 1, ox + kx - 1];
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        for (let i = 0; i < C; i++) s += x[(iy * W + ix) * C + i]! * w[((o * 3 + ky) * 3 + kx) * C + i]!;
      }
      y[(oy * W + ox) * C + o] = l < LAYERS - 1 ? Math.max(0, s) : s;
    }
    x = y;
  }
  return x;
}

function run(file: string, budget: number, input: Float32Array) {
  const arena = runtime.arena;
  const [savedBudget, savedUsed, mark] = [arena.residentWeightBudget, arena.residentWeightBytes, arena.top];
  arena.residentWeightBudget = budget;
  arena.residentWeightBytes = 0;
  try {
    const interp = Interpreter.load(file, { ...wasmInterpreterOptions(runtime), streamWeights: true });
    const runner = interp.getSignatureRunner();
    const out = Object.values(runner.invoke({ x: input }))[0]!.data as Float32Array;
    const again = Object.values(runner.invoke({ x: input }))[0]!.data as Float32Array; // streamed panels repacked per use
    const resident = arena.residentWeightBytes;
    interp.close();
    return { out: Float32Array.from(out), again: Float32Array.from(again), resident };
  } finally {
    arena.reset(mark);
    arena.residentWeightBudget = savedBudget;
    arena.residentWeightBytes = savedUsed;
  }
}

describe('CONV_2D Winograd filters and the resident-weight budget', () => {
  it('keeps resident Winograd bytes within the budget and matches the reference either way', () => {
    const file = join(dir, 'conv-chain.tflite');
    writeFileSync(file, convChain());
    const input = random(H * W * C, 1, -1, 1);
    const want = referenceChain(input);
    const filterBytes = winogradFilterBytes(C, C);

    const allResident = run(file, Infinity, input);
    expect(allResident.resident).toBe(LAYERS * filterBytes); // every layer took Winograd

    // Room for one Winograd filter and less than one layer's GEMM panels
    // (a quarter of it): layer 1 runs Winograd, the others stream.
    const budget = filterBytes + filterBytes / 8;
    const tight = run(file, budget, input);
    expect(tight.resident).toBe(filterBytes);
    expect(tight.resident).toBeLessThanOrEqual(budget);

    const none = run(file, 0, input); // no Winograd at all: implicit GEMM, panels packed per use
    expect(none.resident).toBe(0);

    for (const r of [allResident, tight, none]) {
      expect(relativeError(r.out, want)).toBeLessThan(1e-5);
      expect(r.again).toEqual(r.out);
    }
    // The paths really differ (Winograd rounds differently from the GEMM).
    expect(tight.out).not.toEqual(allResident.out);
  });
});
