// Past the arena's resident-weight budget, a 3x3 CONV_2D with enough output
// positions still runs Winograd, its filter transformed before each use
// into the arena's 'winograd' slot: from the model file for a streamed
// constant (fp32, over 1 MiB) and from the kept values for an fp16 one
// (DEQUANTIZE folded). Same transform, same kernel: the output must be
// bit-identical to the run with every filter resident, on every run; with
// Winograd off (implicit GEMM) it rounds differently. All within 1e-5 of a
// float64 convolution.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f16ArrayToF32, f32ArrayToF16 } from '../../src/io/half.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmConv2d } from '../../src/tflite/ops/wasm/conv-2d.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { bytesOf, random } from './ops-harness.js';

// 16x16 = 256 output positions: enough for per-use Winograd. C1 makes the
// first filter 1.1 MB, so the interpreter streams it from the file.
const [H, W, C0, C1, C2] = [16, 16, 12, 176, 20];
const w1 = random(C1 * 9 * C0, 51, -0.3, 0.3);
const w2 = f32ArrayToF16(random(C2 * 9 * C1, 52, -0.08, 0.08));
const w3 = random(C1 * 9 * C2, 53, -0.2, 0.2); // 176 x 3x3 x 20 fp32 is 127 KB: kept in memory
const b1 = random(C1, 54);
const b3 = random(C1, 55);
const big = random(C1 * 9 * C1, 56, -0.05, 0.05); // the streamed 1.1 MB filter (layer 2 of 4)

let runtime: KernelRuntime;
let dir: string;
beforeAll(async () => {
  runtime = await createKernelRuntime({ threads: 2, variant: 'simd' });
  dir = mkdtempSync(join(tmpdir(), 'sd-tflite-winograd-streamed-'));
});
afterAll(async () => {
  await runtime?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Layer { cin: number; cout: number; weights: Float32Array; bias?: Float32Array; fp16?: Uint16Array }

const LAYERS: Layer[] = [
  { cin: C0, cout: C1, weights: w1, bias: b1 },
  { cin: C1, cout: C1, weights: big },
  { cin: C1, cout: C2, weights: f16ArrayToF32(w2), fp16: w2 },
  { cin: C2, cout: C1, weights: w3, bias: b3 },
];

/** x [1, H, W, C0] -> the LAYERS as 3x3 SAME CONV_2D (RELU between) -> y. */
function model(): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  let x = g.addInput('x', 'FLOAT32', [1, H, W, C0]);
  LAYERS.forEach((l, i) => {
    let w: number;
    if (l.fp16) {
      const w16 = g.addConstant(`w${i}_f16`, 'FLOAT16', [l.cout, 3, 3, l.cin], bytesOf(l.fp16));
      w = g.addTensor(`w${i}`, 'FLOAT32', [l.cout, 3, 3, l.cin]);
      g.addOperator('DEQUANTIZE', [w16], [w]);
    } else {
      w = g.addConstant(`w${i}`, 'FLOAT32', [l.cout, 3, 3, l.cin], bytesOf(l.weights));
    }
    const b = l.bias ? g.addConstant(`b${i}`, 'FLOAT32', [l.cout], bytesOf(l.bias)) : -1;
    const y = g.addTensor(`y${i}`, 'FLOAT32', [1, H, W, l.cout]);
    g.addOperator('CONV_2D', [x, w, b], [y], {
      padding: 'SAME', strideH: 1, strideW: 1, fusedActivationFunction: i < LAYERS.length - 1 ? 'RELU' : 'NONE',
    });
    x = y;
  });
  g.markOutput(x);
  return m.toBuffer();
}

function reference(input: Float32Array): Float64Array {
  let x = Float64Array.from(input);
  LAYERS.forEach((l, n) => {
    const y = new Float64Array(H * W * l.cout);
    for (let oy = 0; oy < H; oy++) for (let ox = 0; ox < W; ox++) for (let o = 0; o < l.cout; o++) {
      let s = l.bias?.[o] ?? 0;
      for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
        const [iy, ix] = [oy + ky - 1, ox + kx - 1];
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        const xo = (iy * W + ix) * l.cin, wo = ((o * 3 + ky) * 3 + kx) * l.cin;
        for (let i = 0; i < l.cin; i++) s += x[xo + i]! * l.weights[wo + i]!;
      }
      y[(oy * W + ox) * l.cout + o] = n < LAYERS.length - 1 ? Math.max(0, s) : s;
    }
    x = y;
  });
  return x;
}

function run(file: string, input: Float32Array, { budget, winograd = true }: { budget: number; winograd?: boolean }) {
  const arena = runtime.arena;
  const [savedBudget, savedUsed, mark] = [arena.residentWeightBudget, arena.residentWeightBytes, arena.top];
  arena.residentWeightBudget = budget;
  arena.residentWeightBytes = 0;
  try {
    const options = wasmInterpreterOptions(runtime);
    const kernels = winograd ? options.kernels : { ...options.kernels, CONV_2D: wasmConv2d(runtime, { winograd: false }) };
    const interp = Interpreter.load(file, { ...options, kernels, streamWeights: true });
    const runner = interp.getSignatureRunner();
    const out = Float32Array.from(Object.values(runner.invoke({ x: input }))[0]!.data as Float32Array);
    const again = Float32Array.from(Object.values(runner.invoke({ x: input }))[0]!.data as Float32Array);
    const resident = arena.residentWeightBytes;
    interp.close();
    return { out, again, resident };
  } finally {
    arena.reset(mark);
    arena.residentWeightBudget = savedBudget;
    arena.residentWeightBytes = savedUsed;
  }
}

describe('CONV_2D with streamed Winograd filters', () => {
  it('gives the resident filters\' bits on every run, and matches a float64 convolution', () => {
    const file = join(dir, 'conv-chain.tflite');
    writeFileSync(file, model());
    const input = random(H * W * C0, 57, 0, 1);
    const want = reference(input);

    const resident = run(file, input, { budget: Infinity });
    const streamed = run(file, input, { budget: 0 });
    const gemm = run(file, input, { budget: 0, winograd: false });
    expect(resident.resident).toBeGreaterThan(0);
    expect(streamed.resident).toBe(0);

    expect(streamed.out).toEqual(resident.out);
    expect(streamed.again).toEqual(resident.out); // transformed again per use
    expect(resident.again).toEqual(resident.out);
    for (const r of [resident, gemm]) expect(relativeError(r.out, want)).toBeLessThan(1e-5);
    expect(gemm.out).not.toEqual(resident.out); // implicit GEMM rounds differently: the paths above were Winograd
  });
});
