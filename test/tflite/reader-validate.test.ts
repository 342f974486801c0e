import { Builder } from 'flatbuffers';
import { describe, expect, test } from 'vitest';
import { FormatError, UsageError } from '../../src/errors.js';
import { TfliteFile } from '../../src/tflite/reader.js';
import { Buffer as FbBuffer } from '../../src/tflite/schema/tflite/buffer.js';
import { Model } from '../../src/tflite/schema/tflite/model.js';
import { SubGraph } from '../../src/tflite/schema/tflite/sub-graph.js';
import { Tensor } from '../../src/tflite/schema/tflite/tensor.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';

// Each rule of the reader's validation, on a file that breaks only that rule.
// The builder checks its arguments but not graph order, and its planned
// tables are plain data, so a test can break them on purpose.

function base() {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', [2, 3]);
  const c = g.addConstant('c', 'FLOAT32', [3], new Uint8Array(12));
  const a = g.addTensor('a', 'FLOAT32', [2, 3]);
  const b = g.addTensor('b', 'FLOAT32', [2, 3]);
  g.addOperator('ADD', [x, c], [a]);
  g.addOperator('RSQRT', [a], [b]);
  g.markOutput(b);
  return { m, g, x, c, a, b };
}

function openError(m: TfliteModelBuilder): string {
  try {
    TfliteFile.fromBytes(m.toBuffer(), 'bad.tflite');
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return (err as Error).message;
  }
  throw new Error('expected a FormatError');
}

describe('reader validation', () => {
  test('the unbroken model opens', () => {
    expect(TfliteFile.fromBytes(base().m.toBuffer()).model.subgraphs[0]!.operators.length).toBe(2);
  });

  test('use before definition (operators out of order, or a cycle)', () => {
    const { m, g } = base();
    g.operators.reverse();
    expect(openError(m)).toBe('bad.tflite: subgraph 0 operator 0 (RSQRT): input 2 (a) is used before any operator produces it');
  });

  test('a tensor produced twice', () => {
    const { m, g, a } = base();
    g.addOperator('RSQRT', [a], [a]);
    expect(openError(m)).toMatch(/operator 2 \(RSQRT\): output 2 \(a\) is already produced by operator 0$/);
  });

  test('an operator writing a constant or a subgraph input', () => {
    const { m, g, a, c } = base();
    g.addOperator('RSQRT', [a], [c]);
    expect(openError(m)).toMatch(/operator 2 \(RSQRT\): output 1 \(c\) overwrites a subgraph input or constant$/);
  });

  test('constant size not matching shape x type', () => {
    const { m, g, c } = base();
    g.tensors[c]!.shape = [4];
    expect(openError(m)).toMatch(/subgraph 0 tensor 1 \(c\): constant holds 12 bytes, FLOAT32 \[4\] needs 16$/);
  });

  test('per-channel scales not matching quantized_dimension', () => {
    const { m, g, c } = base();
    g.tensors[c]!.quantization = { scale: [1, 2], zeroPoint: [0, 0], quantizedDimension: 0 };
    expect(openError(m)).toMatch(/tensor 1 \(c\): 2 scales for dimension 0 of size 3$/);
  });

  test('operator code index out of range', () => {
    const { m, g } = base();
    g.operators[1]!.opcode = 7;
    expect(openError(m)).toMatch(/subgraph 0 operator 1: operator code index 7 out of range \(2 codes\)$/);
  });

  test('tensor index out of range in an operator, a subgraph output and a signature', () => {
    const one = base();
    one.g.operators[1]!.inputs = [9];
    expect(openError(one.m)).toMatch(/operator 1 \(RSQRT\): input 9 out of range \(4 tensors\)$/);
    const two = base();
    two.g.outputs.push(-2);
    expect(openError(two.m)).toMatch(/subgraph 0: output -2 out of range/);
    const three = base();
    three.m.signatures.push({ key: 'run', subgraphIndex: 0, inputs: [['x', 0]], outputs: [['y', 12]] });
    expect(openError(three.m)).toMatch(/signature 0 \(run\): y -> tensor 12 out of range \(4 tensors\)$/);
  });

  test('composite decomposition subgraph out of range', () => {
    const { m, g, b } = base();
    const z = g.addTensor('z', 'FLOAT32', [2, 3]);
    g.addOperator('STABLEHLO_COMPOSITE', [b], [z], { name: 'odml.x', decompositionSubgraphIndex: 3 });
    expect(openError(m)).toMatch(/operator 2 \(STABLEHLO_COMPOSITE\): decomposition subgraph 3 out of range \(1 subgraphs\)$/);
  });

  test('a subgraph output nothing produces', () => {
    const { m, g } = base();
    const orphan = g.addTensor('orphan', 'FLOAT32', [1]);
    g.markOutput(orphan);
    expect(openError(m)).toMatch(/subgraph 0: output 4 \(orphan\) is never produced$/);
  });

  test('one table shared by a huge vector is refused at once, not decoded n times', () => {
    // 60,000 tensor slots all pointing at one tensor with a 60 kB name: a
    // 300 kB file that would make a naive reader decode 3.6 GB of strings.
    const b = new Builder(1 << 20);
    const name = b.createString('n'.repeat(60_000));
    Tensor.startTensor(b);
    Tensor.addName(b, name);
    const tensor = Tensor.endTensor(b);
    const tensors = SubGraph.createTensorsVector(b, new Array<number>(60_000).fill(tensor));
    const subgraph = SubGraph.createSubGraph(b, tensors, 0, 0, 0, 0);
    const buffers = Model.createBuffersVector(b, [(FbBuffer.startBuffer(b), FbBuffer.endBuffer(b))]);
    const model = Model.createModel(b, 3, 0, Model.createSubgraphsVector(b, [subgraph]), 0, buffers, 0, 0, 0);
    Model.finishModelBuffer(b, model);
    const started = Date.now();
    expect(() => TfliteFile.fromBytes(b.asUint8Array(), 'bomb.tflite')).toThrow(/bomb.tflite: subgraph 0 tensor \d+: flatbuffer holds more objects than its size allows/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a missing file is a usage error', () => {
    expect(() => TfliteFile.open('/nonexistent/model.tflite')).toThrow(UsageError);
  });

  test('not a tflite file, and a truncated one', () => {
    expect(() => TfliteFile.fromBytes(new TextEncoder().encode('{"json": true}'), 'x.json')).toThrow('x.json: file identifier is "on\\":", expected "TFL3"');
    const bytes = base().m.toBuffer();
    expect(() => TfliteFile.fromBytes(bytes.subarray(0, 64), 'cut.tflite')).toThrow(FormatError);
    expect(() => TfliteFile.fromBytes(bytes.subarray(0, 5), 'tiny.tflite')).toThrow(/tiny.tflite: 5 bytes is too small/);
  });
});
