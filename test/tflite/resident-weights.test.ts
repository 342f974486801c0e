// Which layers get the resident-weight budget (src/tflite/ops/wasm/resident-weights.ts):
// the candidates a file offers, the value-ordered plan, and the gate that
// limits each kernel's prepare to what the plan gave it.
import { describe, expect, it } from 'vitest';
import { WasmArena } from '../../src/kernels/wasm/arena.js';
import { packedGemmInt8Bytes } from '../../src/kernels/wasm/gemm-int8-pack.js';
import {
  gateResidentWeights, planResidentWeights, residentCandidates, residentKey, STREAMING_MS_PER_MB, type ResidentCandidate,
} from '../../src/tflite/ops/wasm/resident-weights.js';
import { TfliteFile } from '../../src/tflite/reader.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import type { Node } from '../../src/tflite/ops/op.js';
import { bytesOf, random } from './ops-harness.js';

/** Bytes of the transformed Winograd filter: 36 positions x cout padded to 8 x cin floats. */
const winogradBytes = (cin: number, cout: number) => 36 * Math.ceil(cout / 8) * 8 * cin * 4;
/** Bytes of GEMM panels: n padded to 8 x k floats. */
const panelBytes = (k: number, n: number) => Math.ceil(n / 8) * 8 * k * 4;

/**
 * x [1, 6, 6, 16] -> 3x3 conv 16->12 (Winograd-shaped), 3x3 stride-2 conv 12->8,
 * 1x1 conv 8->16 with float16 weights (DEQUANTIZE), FC 16->10 on a graph-input weight.
 */
function file(): TfliteFile {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', [1, 6, 6, 16]);
  const conv = (name: string, input: number, w: number, out: number[], stride: number) => {
    const y = g.addTensor(name, 'FLOAT32', out);
    g.addOperator('CONV_2D', [input, w], [y], { padding: 'SAME', strideH: stride, strideW: stride, fusedActivationFunction: 'NONE' });
    return y;
  };
  const w1 = g.addConstant('w1', 'FLOAT32', [12, 3, 3, 16], bytesOf(random(12 * 9 * 16, 1)));
  const y1 = conv('y1', x, w1, [1, 6, 6, 12], 1);
  const w2 = g.addConstant('w2', 'FLOAT32', [8, 3, 3, 12], bytesOf(random(8 * 9 * 12, 2)));
  const y2 = conv('y2', y1, w2, [1, 3, 3, 8], 2);
  const w3h = g.addConstant('w3h', 'FLOAT16', [16, 1, 1, 8], bytesOf(new Uint16Array(16 * 8).fill(0x3c00)));
  const w3 = g.addTensor('w3', 'FLOAT32', [16, 1, 1, 8]);
  g.addOperator('DEQUANTIZE', [w3h], [w3]);
  const y3 = conv('y3', y2, w3, [1, 3, 3, 16], 1);
  const flat = g.addTensor('flat', 'FLOAT32', [9, 16]);
  const shape = g.addConstant('shape', 'INT32', [2], bytesOf(Int32Array.of(9, 16)));
  g.addOperator('RESHAPE', [y3, shape], [flat]);
  const w4 = g.addInput('w4', 'FLOAT32', [10, 16]);
  const y4 = g.addTensor('y4', 'FLOAT32', [9, 10]);
  g.addOperator('FULLY_CONNECTED', [flat, w4], [y4]);
  g.markOutput(y4);
  return TfliteFile.fromBytes(m.toBuffer(), 'candidates.tflite');
}

describe('residentCandidates', () => {
  it('offers each constant-weight conv and FC in its resident form, valued by uses per image', () => {
    const f = file();
    const ops = f.model.subgraphs[0]!.operators;
    const opIndex = (weightName: string) => ops.findIndex((op) => op.inputs[1] !== undefined && f.model.subgraphs[0]!.tensors[op.inputs[1]]?.name === weightName);
    const got = residentCandidates(f, 3, 20);
    const want = [
      { op: opIndex('w1'), form: 'winograd', bytes: winogradBytes(16, 12) },
      { op: opIndex('w2'), form: 'gemm', bytes: panelBytes(9 * 12, 8) },
      { op: opIndex('w3'), form: 'gemm', bytes: panelBytes(8, 16) },
    ];
    expect(got.map(({ op, form, bytes }) => ({ op, form, bytes }))).toEqual(want); // the FC's weights are not constant
    for (const c of got) {
      expect(c.model).toBe(3);
      expect(f.model.subgraphs[0]!.operators[c.op]!.inputs[1]).toBe(c.weight);
      expect(c.msPerImage).toBeCloseTo(20 * STREAMING_MS_PER_MB[c.form] * c.bytes / 1e6, 12);
    }
  });
});

/** x [1, 4, 4, 16] -> 3x3 conv and 1x1 conv 16->16 and FC 16->24, all with INT8 weights. */
function int8File(): TfliteFile {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', [1, 4, 4, 16]);
  const int8 = (name: string, shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return g.addConstant(name, 'INT8', shape, bytesOf(new Int8Array(n).fill(3)), { quantization: { scale: new Array(shape[0]).fill(0.01), quantizedDimension: 0 } });
  };
  const y1 = g.addTensor('y1', 'FLOAT32', [1, 4, 4, 16]);
  g.addOperator('CONV_2D', [x, int8('w3x3', [16, 3, 3, 16])], [y1], { padding: 'SAME', strideH: 1, strideW: 1, fusedActivationFunction: 'NONE' });
  const y2 = g.addTensor('y2', 'FLOAT32', [1, 4, 4, 16]);
  g.addOperator('CONV_2D', [y1, int8('w1x1', [16, 1, 1, 16])], [y2], { padding: 'SAME', strideH: 1, strideW: 1, fusedActivationFunction: 'NONE' });
  const y3 = g.addTensor('y3', 'FLOAT32', [16, 24]);
  const flat = g.addTensor('flat', 'FLOAT32', [16, 16]);
  g.addOperator('RESHAPE', [y2, g.addConstant('shape', 'INT32', [2], bytesOf(Int32Array.of(16, 16)))], [flat]);
  g.addOperator('FULLY_CONNECTED', [flat, int8('wfc', [24, 16])], [y3]);
  g.markOutput(y3);
  return TfliteFile.fromBytes(m.toBuffer(), 'int8-candidates.tflite');
}

describe('residentCandidates of INT8 weights', () => {
  const formsAndBytes = (int8Compute: boolean) => residentCandidates(int8File(), 0, 20, int8Compute).map(({ form, bytes }) => ({ form, bytes }));

  it('sizes them as float panels when they run dequantized', () => {
    expect(formsAndBytes(false)).toEqual([
      { form: 'winograd', bytes: winogradBytes(16, 16) }, { form: 'gemm', bytes: panelBytes(16, 16) }, { form: 'gemm', bytes: panelBytes(16, 24) },
    ]);
  });

  it('sizes the FC and 1x1 conv as int8 panels under int8Compute, the 3x3 conv still as its float Winograd filter', () => {
    expect(formsAndBytes(true)).toEqual([
      { form: 'winograd', bytes: winogradBytes(16, 16) }, { form: 'gemm', bytes: packedGemmInt8Bytes(16, 16) }, { form: 'gemm', bytes: packedGemmInt8Bytes(16, 24) },
    ]);
    expect(packedGemmInt8Bytes(16, 24)).toBeLessThan(panelBytes(16, 24));
  });
});

describe('planResidentWeights', () => {
  const c = (model: number, op: number, bytes: number, msPerImage: number): ResidentCandidate =>
    ({ model, op, weight: op + 100, form: 'gemm', bytes, msPerImage });

  it('gives the budget by time saved per byte, skipping what no longer fits and filling with smaller layers', () => {
    const candidates = [
      c(0, 0, 100, 100), // 1 per byte (a text-encoder layer, say)
      c(1, 0, 300, 3000), // 10 per byte
      c(1, 1, 200, 1000), // 5 per byte
      c(1, 2, 250, 2000), // 8 per byte
      c(1, 3, 50, 200), // 4 per byte
    ];
    // 10/byte (300) and 8/byte (250) fit 600; 5/byte (200) does not; 4/byte (50) does; 1/byte (100) no longer does.
    const plan = planResidentWeights(candidates, 600);
    expect([...plan.entries()]).toEqual([
      [residentKey(1, 0, 100), 300], [residentKey(1, 2, 102), 250], [residentKey(1, 3, 103), 50],
    ]);
    expect(planResidentWeights(candidates, 0).size).toBe(0);
    expect(planResidentWeights(candidates, 10_000).size).toBe(5);
  });

  it('takes the bigger of two layers with the same value per byte first', () => {
    const plan = planResidentWeights([c(0, 0, 100, 100), c(0, 1, 300, 300)], 350);
    expect([...plan.keys()]).toEqual([residentKey(0, 1, 101)]);
  });
});

describe('gateResidentWeights', () => {
  const arena = () => {
    const a = new WasmArena(new WebAssembly.Memory({ initial: 2, maximum: 2 }), 2);
    a.residentWeightBudget = 1000;
    a.residentWeightBytes = 300;
    return a;
  };
  const node = (index: number) => ({ index }) as unknown as Node;

  it('narrows the budget to the allowance while the kernel prepares, never widens it, and restores it', () => {
    const a = arena();
    const seen: number[] = [];
    const kernels = { CONV_2D: { prepare: () => void seen.push(a.residentWeightBudget), run: () => {} } };
    const gated = gateResidentWeights(kernels, a, (n) => [0, 200, 5000][n.index]!);
    for (const i of [0, 1, 2]) gated.CONV_2D!.prepare!(node(i), {} as never);
    expect(seen).toEqual([300, 500, 1000]);
    expect(a.residentWeightBudget).toBe(1000);
  });

  it('restores the budget when the kernel throws, and passes run and supports through', () => {
    const a = arena();
    const ran: number[] = [];
    const kernels = {
      FULLY_CONNECTED: {
        supports: (n: Node) => n.index === 7,
        prepare: () => { throw new Error('bad weights'); },
        run: (n: Node) => void ran.push(n.index),
      },
    };
    const gated = gateResidentWeights(kernels, a, () => 0).FULLY_CONNECTED!;
    expect(() => gated.prepare!(node(7), {} as never)).toThrow('bad weights');
    expect(a.residentWeightBudget).toBe(1000);
    expect(gated.supports!(node(7), {} as never)).toBe(true);
    expect(gated.supports!(node(8), {} as never)).toBe(false);
    gated.run(node(4), {} as never);
    expect(ran).toEqual([4]);
  });
});
