// Where weights live: with streamWeights the interpreter keeps no copy of big
// constants (they are read from the file when needed), and packed GEMM
// weights past the arena's resident budget are packed into one shared slot
// before each use. Results must be bit-identical to resident weights, and
// kernel memory must not hold the weights.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f32ArrayToF16 } from '../../src/io/half.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter, STREAMED_CONSTANT_MIN_BYTES } from '../../src/tflite/interpreter/interpreter.js';
import { LoadedModel } from '../../src/tflite/interpreter/loaded-model.js';
import { ArrayBufferArena } from '../../src/tflite/interpreter/tensor-arena.js';
import { TfliteFile } from '../../src/tflite/reader.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { bytesOf, random } from './ops-harness.js';

let runtime: KernelRuntime;
let dir: string;
beforeAll(async () => {
  runtime = await createKernelRuntime({ threads: 2, variant: 'simd' });
  dir = mkdtempSync(join(tmpdir(), 'sd-tflite-weights-'));
});
afterAll(async () => {
  await runtime?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Encoding = 'FLOAT32' | 'FLOAT16 via DEQUANTIZE' | 'INT8';

/** x [-1, d] -> FC -> FC -> y, both weights [d, d] of at least 1 MiB (so they are streamed). */
function twoLayerModel(encoding: Encoding, d: number): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  let x = g.addInput('x', 'FLOAT32', [-1, d]);
  for (let layer = 0; layer < 2; layer++) {
    const w = random(d * d, 10 + layer, -0.1, 0.1);
    let wi: number;
    if (encoding === 'FLOAT32') wi = g.addConstant(`w${layer}`, 'FLOAT32', [d, d], bytesOf(w));
    else if (encoding === 'INT8') {
      const q = Int8Array.from(w, (v) => Math.round(v * 1270));
      wi = g.addConstant(`w${layer}`, 'INT8', [d, d], bytesOf(q), { quantization: { scale: Array.from({ length: d }, (_, i) => 1 / 1270 + i * 1e-6), quantizedDimension: 0 } });
    } else {
      const h = g.addConstant(`w${layer}_f16`, 'FLOAT16', [d, d], bytesOf(f32ArrayToF16(w)));
      wi = g.addTensor(`w${layer}`, 'FLOAT32', [d, d]);
      g.addOperator('DEQUANTIZE', [h], [wi]);
    }
    const b = g.addConstant(`b${layer}`, 'FLOAT32', [d], bytesOf(random(d, 20 + layer)));
    const y = g.addTensor(`y${layer}`, 'FLOAT32', [-1, d]);
    g.addOperator('FULLY_CONNECTED', [x, wi, b], [y], { fusedActivationFunction: layer === 0 ? 'RELU' : 'NONE' });
    x = y;
  }
  g.markOutput(x);
  return m.toBuffer();
}

function run(file: string, streamWeights: boolean, budget: number, rows: number, d: number) {
  const arena = runtime.arena;
  const [savedBudget, savedUsed, mark] = [arena.residentWeightBudget, arena.residentWeightBytes, arena.top];
  arena.residentWeightBudget = budget;
  arena.residentWeightBytes = 0;
  try {
    const interp = Interpreter.load(file, { ...wasmInterpreterOptions(runtime), streamWeights });
    const runner = interp.getSignatureRunner();
    runner.resizeInput('x', [rows, d]);
    const first = Object.values(runner.invoke({ x: random(rows * d, 1) }))[0]!;
    const again = Object.values(runner.invoke({ x: random(rows * d, 2) }))[0]!; // second run: the slot is repacked per layer
    const grown = arena.top - mark;
    interp.close();
    return { out: first.data as Float32Array, again: again.data as Float32Array, grown };
  } finally {
    arena.reset(mark);
    arena.residentWeightBudget = savedBudget;
    arena.residentWeightBytes = savedUsed;
  }
}

describe('streamed weights', () => {
  const cases: Array<[Encoding, number]> = [
    ['FLOAT32', 520],
    ['FLOAT16 via DEQUANTIZE', 740],
    ['INT8', 1040],
  ];

  it.each(cases)('%s: bit-identical to resident weights, no packed copy kept in kernel memory', (encoding, d) => {
    const file = join(dir, `${encoding.split(' ')[0]}.tflite`);
    writeFileSync(file, twoLayerModel(encoding, d));
    const rows = 9;
    const resident = run(file, false, Infinity, rows, d);
    const streamed = run(file, true, 0, rows, d);
    expect(streamed.out).toEqual(resident.out);
    expect(streamed.again).toEqual(resident.again);
    const packedLayer = Math.ceil(d / 8) * 8 * d * 4;
    // Resident: both layers packed. Streamed: one slot for both layers.
    expect(resident.grown).toBeGreaterThanOrEqual(2 * packedLayer);
    expect(streamed.grown).toBeLessThan(packedLayer + 2 * rows * d * 4 + 64 * 1024);
  });

  it('a streamed constant keeps no bytes: each read is a fresh copy from the file; small ones are held', () => {
    const file = join(dir, 'f32-constants.tflite');
    writeFileSync(file, twoLayerModel('FLOAT32', 520));
    const tf = TfliteFile.open(file);
    const loaded = new LoadedModel(tf, {
      threads: 1, kernels: {}, compositeFastPaths: true, fusion: true, arena: () => new ArrayBufferArena(), streamConstantsFrom: STREAMED_CONSTANT_MIN_BYTES,
    });
    const index = (name: string) => tf.model.subgraphs[0]!.tensors.findIndex((t) => t.name === name);
    const w = loaded.constant(0, index('w0'))!;
    expect(w.source !== undefined).toBe(true);
    const [a, b] = [w.raw as Float32Array, w.raw as Float32Array];
    expect(a === b).toBe(false);
    const want = random(520 * 520, 10, -0.1, 0.1);
    expect(a.length).toBe(want.length);
    expect(a.every((v, i) => v === want[i] && v === b[i])).toBe(true); // (toEqual on 270k values is slow)
    // Re-reads for packing go into one reused buffer (no garbage per run).
    const [s1, s2] = [w.source!() as Float32Array, w.source!() as Float32Array];
    expect(s1.buffer === s2.buffer).toBe(true);
    expect(s1.every((v, i) => v === want[i])).toBe(true);
    loaded.close();
    const bias = loaded.constant(0, index('b0'))!;
    expect(bias.source).toBeUndefined();
    expect(bias.raw === bias.raw).toBe(true);
    tf.close();
  });
});
