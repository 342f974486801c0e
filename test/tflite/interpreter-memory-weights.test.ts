// Where weights live: with streamWeights the interpreter keeps no copy of big
// constants (they are read from the file when needed), and packed GEMM
// weights past the arena's resident budget are packed into one shared slot
// before each use. Results must be bit-identical to resident weights, and
// kernel memory must not hold the weights.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError, UsageError } from '../../src/errors.js';
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

/** `lazy`: the file is read through its fd (as files over 64 MiB are), so streamed weights are read from disk into kernel memory. */
function run(file: string, streamWeights: boolean, budget: number, rows: number, d: number, lazy = false) {
  const arena = runtime.arena;
  const [savedBudget, savedUsed, mark] = [arena.residentWeightBudget, arena.residentWeightBytes, arena.top];
  arena.residentWeightBudget = budget;
  arena.residentWeightBytes = 0;
  try {
    const interp = Interpreter.load(lazy ? TfliteFile.open(file, { lazy: true }) : file, { ...wasmInterpreterOptions(runtime), streamWeights });
    const runner = interp.getSignatureRunner();
    runner.resizeInput('x', [rows, d]);
    const first = Object.values(runner.invoke({ x: random(rows * d, 1) }))[0]!;
    const again = Object.values(runner.invoke({ x: random(rows * d, 2) }))[0]!; // second run: the slot is repacked per layer
    const grown = arena.top - mark;
    interp.close();
    if (lazy) interp.file.close();
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
    const fromDisk = run(file, true, 0, rows, d, true);
    for (const r of [streamed, fromDisk]) {
      expect(r.out).toEqual(resident.out);
      expect(r.again).toEqual(resident.again);
    }
    const packedLayer = Math.ceil(d / 8) * 8 * d * 4;
    // Resident: both layers packed. Streamed: one slot for both layers.
    expect(resident.grown).toBeGreaterThanOrEqual(2 * packedLayer);
    expect(streamed.grown).toBeLessThan(packedLayer + 2 * rows * d * 4 + 64 * 1024);
  });

  it('a streamed constant keeps no bytes: each read is a fresh copy from the file, or a range read into a given view; small ones are held', () => {
    const file = join(dir, 'f32-constants.tflite');
    writeFileSync(file, twoLayerModel('FLOAT32', 520));
    const tf = TfliteFile.open(file, { lazy: true });
    const loaded = new LoadedModel(tf, {
      threads: 1, kernels: {}, compositeFastPaths: true, fusion: true, arena: () => new ArrayBufferArena(), streamConstantsFrom: STREAMED_CONSTANT_MIN_BYTES,
    });
    const index = (name: string) => tf.model.subgraphs[0]!.tensors.findIndex((t) => t.name === name);
    const w = loaded.constant(0, index('w0'))!;
    expect(w.streamed).toBe(true);
    const [a, b] = [w.raw as Float32Array, w.raw as Float32Array];
    expect(a === b).toBe(false);
    const want = random(520 * 520, 10, -0.1, 0.1);
    expect(a.length).toBe(want.length);
    expect(a.every((v, i) => v === want[i] && v === b[i])).toBe(true); // (toEqual on 270k values is slow)
    // Re-reads for packing go straight into the caller's memory (kernel memory is a SharedArrayBuffer).
    const memory = new Float32Array(new SharedArrayBuffer(4 * 1000));
    w.readInto!(4 * 12345, new Uint8Array(memory.buffer, 4 * 7, 4 * 900));
    expect(memory.subarray(7, 907).every((v, i) => v === want[12345 + i])).toBe(true);
    expect(memory[6]).toBe(0);
    expect(memory[907]).toBe(0);
    expect(() => w.readInto!(4 * (520 * 520 - 10), new Uint8Array(memory.buffer, 0, 44))).toThrow(UsageError);
    expect(() => w.readInto!(-4, new Uint8Array(memory.buffer, 0, 4))).toThrow(UsageError);
    const bias = loaded.constant(0, index('b0'))!;
    expect(bias.streamed).toBe(false);
    expect(bias.readInto).toBeUndefined();
    expect(bias.raw === bias.raw).toBe(true);
    tf.close();
  });

  it('a file cut short after loading: packing a streamed weight throws a FormatError naming the file and tensor', () => {
    const d = 520;
    const file = join(dir, 'truncated.tflite');
    writeFileSync(file, twoLayerModel('FLOAT32', d));
    const arena = runtime.arena;
    const [savedBudget, savedUsed, mark] = [arena.residentWeightBudget, arena.residentWeightBytes, arena.top];
    arena.residentWeightBudget = 0;
    arena.residentWeightBytes = 0;
    const tf = TfliteFile.open(file, { lazy: true });
    try {
      const interp = Interpreter.load(tf, { ...wasmInterpreterOptions(runtime), streamWeights: true });
      const runner = interp.getSignatureRunner();
      runner.resizeInput('x', [3, d]);
      runner.invoke({ x: random(3 * d, 1) });
      const w1 = tf.model.subgraphs[0]!.tensors.find((t) => t.name === 'w1')!;
      truncateSync(file, tf.model.buffers[w1.buffer]!.position + 1000);
      let error: unknown;
      try {
        runner.invoke({ x: random(3 * d, 1) });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(FormatError);
      expect((error as FormatError).message).toContain(file);
      expect((error as FormatError).message).toContain('tensor w1');
      interp.close();
    } finally {
      tf.close();
      arena.reset(mark);
      arena.residentWeightBudget = savedBudget;
      arena.residentWeightBytes = savedUsed;
    }
  });
});
