import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ByteBuffer } from 'flatbuffers';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { OPTION_TABLES, type OpWithOptions } from '../../src/tflite/options.js';
import { TfliteFile } from '../../src/tflite/reader.js';
import { Conv2DOptions } from '../../src/tflite/schema/tflite/conv2doptions.js';
import { Model } from '../../src/tflite/schema/tflite/model.js';
import { ShapeOptions } from '../../src/tflite/schema/tflite/shape-options.js';
import { StableHLOCompositeOptions } from '../../src/tflite/schema/tflite/stable-hlocomposite-options.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

/** A model touching every field the writer can write. */
function richModel(): TfliteModelBuilder {
  const m = new TfliteModelBuilder('round trip');
  const g = m.main;
  const x = g.addInput('args_0', 'FLOAT32', [1, 4, -1, -1]);
  const wq = g.addConstant('w_int8', 'INT8', [2, 1, 1, 4], new Uint8Array([1, 2, 3, 4, 255, 254, 253, 252]), {
    quantization: { scale: [0.5, 0.25], zeroPoint: [0, 0], quantizedDimension: 0 },
  });
  const w = g.addTensor('w', 'FLOAT32', [2, 1, 1, 4]);
  g.addOperator('DEQUANTIZE', [wq], [w]);
  const h = g.addTensor('h', 'FLOAT32', [1, 2, -1, -1]);
  const b = g.addConstant('b', 'FLOAT16', [2], new Uint8Array([0, 60, 0, 64]));
  const bf = g.addTensor('b_f32', 'FLOAT32', [2]);
  g.addOperator('DEQUANTIZE', [b], [bf]);
  g.addOperator('CONV_2D', [x, w, bf], [h], {
    padding: 'VALID', strideW: 2, strideH: 3, dilationWFactor: 2, fusedActivationFunction: 'RELU6',
  });
  const act = g.addTensor('act', 'FLOAT32', [1, 2, -1, -1], { quantization: { scale: [0.1], zeroPoint: [3], min: [-1], max: [2] } });
  g.addOperator('GELU', [h], [act], { approximate: true });
  const y = g.addTensor('y', 'FLOAT32', [1, 2, -1, -1]);
  g.addOperator('STABLEHLO_COMPOSITE', [act], [y], {
    name: 'odml.group_norm', decompositionSubgraphIndex: 1, compositeAttributes: new Uint8Array([7, 8, 9]), version: 2,
  });
  const z = g.addTensor('z', 'FLOAT32', [1, 2, -1, -1]);
  g.addCustomOperator('MyOp', [y, -1], [z], new Uint8Array([1, 2]));
  g.markOutput(z);

  const d = m.addSubgraph('decomposition');
  const di = d.addInput('in', 'FLOAT32', [1, 2, -1, -1]);
  const dout = d.addTensor('out', 'FLOAT32', [1, 2, -1, -1]);
  d.addOperator('LOGISTIC', [di], [dout]);
  d.markOutput(dout);

  m.addSignature('decode', { args_0: x }, { output_0: z });
  m.setMinRuntimeVersion('2.17.0');
  m.addMetadata('note', new Uint8Array([42]));
  return m;
}

function checkRich(file: TfliteFile, layout: 'inline' | 'offset') {
  const { model } = file;
  expect(model.layout).toBe(layout);
  expect(model.version).toBe(3);
  expect(model.description).toBe('round trip');
  expect(model.buffers[0]).toEqual({ kind: 'empty', position: 0, size: 0 });
  for (const b of model.buffers) if (b.size > 0) expect(b.position % 16).toBe(0);

  const g = model.subgraphs[0]!;
  expect(g.name).toBe('main');
  expect(g.inputs).toEqual([0]);
  expect(g.outputs).toEqual([8]);
  expect(g.tensors.map((t) => t.name)).toEqual(['args_0', 'w_int8', 'w', 'h', 'b', 'b_f32', 'act', 'y', 'z']);
  const x = g.tensors[0]!;
  expect(x).toMatchObject({ type: 'FLOAT32', shape: [1, 4, 1, 1], shapeSignature: [1, 4, -1, -1], buffer: 0, hasRank: true, isVariable: false });
  expect(g.tensors[2]!.shapeSignature).toBeUndefined();
  expect(g.tensors[1]!.quantization).toEqual({ scale: [0.5, 0.25], zeroPoint: [0, 0], quantizedDimension: 0 });
  expect(g.tensors[6]!.quantization).toEqual({ scale: [Math.fround(0.1)], zeroPoint: [3], quantizedDimension: 0, min: [-1], max: [2] });
  expect(file.constantBytes(0, 1)).toEqual(new Uint8Array([1, 2, 3, 4, 255, 254, 253, 252]));
  expect(file.constantBytes(0, 4)).toEqual(new Uint8Array([0, 60, 0, 64]));
  expect(file.constantBytes(0, 0)).toBeUndefined();

  expect(g.operators.map((o) => o.opName)).toEqual(['DEQUANTIZE', 'DEQUANTIZE', 'CONV_2D', 'GELU', 'STABLEHLO_COMPOSITE', 'CUSTOM:MyOp']);
  const [, , conv, gelu, composite, custom] = g.operators;
  expect(conv).toMatchObject({ builtinCode: 3, inputs: [0, 2, 5], outputs: [3], version: 1 });
  expect(conv!.options).toEqual({
    padding: 'VALID', strideW: 2, strideH: 3, fusedActivationFunction: 'RELU6', dilationWFactor: 2, dilationHFactor: 1, quantizedBiasType: 'FLOAT32',
  });
  expect(gelu).toMatchObject({ builtinCode: 150, options: { approximate: true } });
  expect(composite).toMatchObject({ builtinCode: 206, optionsTable: 'StableHLOCompositeOptions' });
  expect(composite!.options).toEqual({
    name: 'odml.group_norm', decompositionSubgraphIndex: 1, compositeAttributes: new Uint8Array([7, 8, 9]),
    compositeAttributesFormat: 'FLEXBUFFERS', version: 2,
  });
  expect(custom).toMatchObject({ builtinCode: 32, customCode: 'MyOp', inputs: [7, -1], outputs: [8], customOptions: new Uint8Array([1, 2]) });

  expect(model.subgraphs[1]).toMatchObject({ name: 'decomposition', inputs: [0], outputs: [1] });
  expect(model.signatures).toEqual([
    { key: 'decode', subgraphIndex: 0, inputs: [{ name: 'args_0', tensorIndex: 0 }], outputs: [{ name: 'output_0', tensorIndex: 8 }] },
  ]);
  // Upstream marks offset-layout files with buffer_location metadata; metadata itself stays inline.
  const names = ['min_runtime_version', 'note', ...(layout === 'offset' ? ['buffer_location'] : [])];
  expect(model.metadata.map((m) => m.name)).toEqual(names);
  for (const m of model.metadata) expect(model.buffers[m.buffer]!.kind).toBe('inline');
  if (layout === 'offset') expect(new TextDecoder().decode(file.metadataBytes('buffer_location'))).toBe('outside flatbuffers');
  expect(file.minRuntimeVersion()).toBe('2.17.0');
  expect(file.metadataBytes('min_runtime_version')!.length).toBe(16);
  expect(file.metadataBytes('note')).toEqual(new Uint8Array([42]));
}

describe('writer -> reader round trip', () => {
  test.each(['inline', 'offset'] as const)('%s layout keeps every field', (layout) => {
    const bytes = richModel().toBuffer({ forceOffsetLayout: layout === 'offset' });
    checkRich(TfliteFile.fromBytes(bytes), layout);
  });

  test('header, op codes and buffers as upstream conventions want (checked with the flatc accessors)', () => {
    for (const forceOffsetLayout of [false, true]) {
      const bytes = richModel().toBuffer({ forceOffsetLayout });
      expect(String.fromCharCode(...bytes.subarray(4, 8))).toBe('TFL3');
      const model = Model.getRootAsModel(new ByteBuffer(bytes));
      expect(model.version()).toBe(3);
      const codes = Array.from({ length: model.operatorCodesLength() }, (_, i) => model.operatorCodes(i)!);
      const byCode = new Map(codes.map((c) => [c.builtinCode(), c.deprecatedBuiltinCode()]));
      expect(byCode.get(6)).toBe(6); // DEQUANTIZE: both equal
      expect(byCode.get(3)).toBe(3); // CONV_2D
      expect(byCode.get(150)).toBe(127); // GELU: placeholder in the old field
      expect(byCode.get(206)).toBe(127); // STABLEHLO_COMPOSITE
      expect(codes.find((c) => c.builtinCode() === 32)!.customCode()).toBe('MyOp');
      expect(model.buffers(0)!.dataLength()).toBe(0);
      expect(model.buffers(0)!.offset()).toBe(0n);
      const w = model.buffers(model.subgraphs(0)!.tensors(1)!.buffer())!;
      if (forceOffsetLayout) {
        expect(w.dataLength()).toBe(0);
        expect(w.size()).toBe(8n);
        const at = Number(w.offset());
        expect(at % 16).toBe(0);
        expect([...bytes.subarray(at, at + 8)]).toEqual([1, 2, 3, 4, 255, 254, 253, 252]);
      } else {
        expect(w.offset()).toBe(0n);
        expect([...w.dataArray()!]).toEqual([1, 2, 3, 4, 255, 254, 253, 252]);
        expect(w.dataArray()!.byteOffset % 16).toBe(0);
      }
      const op = model.subgraphs(0)!.operators(2)!;
      const conv = op.builtinOptions(new Conv2DOptions()) as Conv2DOptions;
      expect([conv.padding(), conv.strideW(), conv.strideH(), conv.dilationWFactor(), conv.dilationHFactor(), conv.fusedActivationFunction()]).toEqual([1, 2, 3, 2, 1, 3]);
      const comp = model.subgraphs(0)!.operators(4)!.builtinOptions2(new StableHLOCompositeOptions()) as StableHLOCompositeOptions;
      expect([comp.name(), comp.decompositionSubgraphIndex(), comp.version()]).toEqual(['odml.group_norm', 1, 2]);
    }
  });

  test('every options table round-trips non-default values', () => {
    const values: Record<string, unknown> = {
      bool: true, int32: 3, float32: 0.5, padding: 'VALID', activation: 'TANH', tensorType: 'INT8',
      weightsFormat: 'SHUFFLED4x16INT8', optionsFormat: 'FLEXBUFFERS', int32s: [4, -1, 2], string: 'n', bytes: new Uint8Array([5]),
    };
    for (const op of Object.keys(OPTION_TABLES) as OpWithOptions[]) {
      const m = new TfliteModelBuilder();
      const a = m.main.addInput('a', 'FLOAT32', [1]);
      const out = m.main.addTensor('out', 'FLOAT32', [1]);
      const given: Record<string, unknown> = {};
      for (const f of OPTION_TABLES[op].fields) if (f) given[f[0]] = values[f[1]];
      if (op === 'STABLEHLO_COMPOSITE') given['decompositionSubgraphIndex'] = 0;
      m.main.addOperator(op, [a], [out], given as never);
      const read = TfliteFile.fromBytes(m.toBuffer()).model.subgraphs[0]!.operators[0]!;
      expect(read.opName).toBe(op);
      expect(read.optionsTable).toBe(OPTION_TABLES[op].table);
      expect(read.options, op).toEqual(given);
    }
  });

  test('SHAPE writes ShapeOptions.out_type (TFLite needs the table) and reads it back', () => {
    const m = new TfliteModelBuilder();
    const x = m.main.addInput('x', 'FLOAT32', [1, -1, 3]);
    const y = m.main.addTensor('shape', 'INT32', [3]);
    m.main.addOperator('SHAPE', [x], [y], { outType: 'INT32' });
    const bytes = m.toBuffer();
    const read = TfliteFile.fromBytes(bytes).model.subgraphs[0]!.operators[0]!;
    expect(read).toMatchObject({ opName: 'SHAPE', optionsTable: 'ShapeOptions', options: { outType: 'INT32' } });
    const op = Model.getRootAsModel(new ByteBuffer(bytes)).subgraphs(0)!.operators(0)!;
    expect(op.builtinOptionsType()).toBe(55); // BuiltinOptions.ShapeOptions upstream
    expect((op.builtinOptions(new ShapeOptions()) as ShapeOptions).outType()).toBe(2); // TensorType.INT32
  });

  test('writeFile streams producers, leaves no temporary file, and leaves nothing on failure', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tflite-writer-'));
    try {
      const m = new TfliteModelBuilder();
      const x = m.main.addInput('x', 'FLOAT32', [3]);
      const c = m.main.addConstant('c', 'FLOAT32', [3], {
        byteLength: 12,
        produce: (emit) => {
          emit(f32(1));
          emit(f32(2, 3));
        },
      });
      const y = m.main.addTensor('y', 'FLOAT32', [3]);
      m.main.addOperator('ADD', [x, c], [y]);
      m.main.markOutput(y);
      const file = path.join(dir, 'm.tflite');
      m.writeFile(file, { forceOffsetLayout: true });
      expect(fs.readdirSync(dir)).toEqual(['m.tflite']);
      const read = TfliteFile.open(file);
      expect(new Float32Array(read.constantBytes(0, 1)!.buffer)).toEqual(new Float32Array([1, 2, 3]));
      read.close();

      const bad = new TfliteModelBuilder();
      bad.main.addConstant('c', 'FLOAT32', [3], { byteLength: 12, produce: (emit) => emit(f32(1)) });
      expect(() => bad.writeFile(path.join(dir, 'bad.tflite'))).toThrow(UsageError);
      expect(fs.readdirSync(dir)).toEqual(['m.tflite']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('lazy reading through the fd (pages of 64 KiB) sees what an in-memory read sees', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tflite-lazy-'));
    try {
      const m = richModel();
      // Constants spanning several cache pages, with many small tables between them.
      const big = new Uint8Array(300_001 * 4).map((_, i) => (i * 7919) % 251);
      for (let i = 0; i < 40; i++) m.addSubgraph(`extra ${i}`).addInput(`t${i}`, 'INT32', [i + 1]);
      m.main.addConstant('big', 'FLOAT32', [300_001], big);
      for (const forceOffsetLayout of [false, true]) {
        const file = path.join(dir, `m${forceOffsetLayout}.tflite`);
        m.writeFile(file, { forceOffsetLayout });
        const lazy = TfliteFile.open(file, { lazy: true });
        const memory = TfliteFile.fromBytes(fs.readFileSync(file), file);
        expect(lazy.model).toEqual(memory.model);
        expect(lazy.model.layout).toBe(forceOffsetLayout ? 'offset' : 'inline');
        expect(Buffer.compare(lazy.constantBytes(0, 9)!, big)).toBe(0);
        expect(Buffer.compare(lazy.constantBytes(0, 1)!, new Uint8Array([1, 2, 3, 4, 255, 254, 253, 252]))).toBe(0);
        lazy.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an operator code newer than our schema is reported by number, not rejected', () => {
    const m = new TfliteModelBuilder();
    const x = m.main.addInput('x', 'FLOAT32', [2]);
    const y = m.main.addTensor('y', 'FLOAT32', [2]);
    m.main.addOperator('GELU', [x], [y]);
    m.main.markOutput(y);
    const bytes = m.toBuffer();
    // Patch builtin_code (field 3 of OperatorCode) from 150 to 250.
    const bb = new ByteBuffer(bytes);
    const code = Model.getRootAsModel(bb).operatorCodes(0)!;
    const at = code.bb_pos + bb.__offset(code.bb_pos, 4 + 2 * 3);
    expect(bb.readInt32(at)).toBe(150);
    bb.writeInt32(at, 250);
    const op = TfliteFile.fromBytes(bytes).model.subgraphs[0]!.operators[0]!;
    expect(op).toMatchObject({ opName: 'BUILTIN_250', builtinCode: 250, inputs: [0], outputs: [1] });
    expect(op.options).toBeUndefined();
  });

  test('builder rejects bad arguments', () => {
    const m = new TfliteModelBuilder();
    const x = m.main.addInput('x', 'FLOAT32', [2]);
    expect(() => m.main.addConstant('c', 'FLOAT32', [3], f32(1, 2))).toThrow(/needs 12/);
    expect(() => m.main.addOperator('ADD', [x, 7], [x])).toThrow(/not a tensor/);
    expect(() => m.main.addOperator('CONV_2D', [x], [x], { stride: 1 } as never)).toThrow(/no option 'stride'/);
    expect(() => m.main.addOperator('RSQRT', [x], [x], {} as never)).toThrow(/takes no options/);
    expect(() => m.main.addTensor('q', 'INT8', [2, 3], { quantization: { scale: [1, 2, 3], quantizedDimension: 0 } })).toThrow(/3 scales/);
  });
});
