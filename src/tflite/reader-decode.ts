import { BuiltinOptions } from './schema/tflite/builtin-options.js';
import { BuiltinOptions2 } from './schema/tflite/builtin-options2.js';
import type { FbTable, FbView } from './fb-view.js';
import type { Quantization, TfliteBuffer, TfliteModel, TfliteOperator, TfliteSignature, TfliteSubgraph, TfliteTensor } from './model.js';
import { decodeOptions, optionTableOf } from './options.js';
import { builtinOpName, tensorTypeName } from './types.js';

// Field ids of the schema tables (schema/schema.fbs order; a union field
// takes two ids: its type, then its value).
const MODEL = { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4, metadata: 6, signatureDefs: 7 };
const OPCODE = { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 };
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 };
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, isVariable: 5, sparsity: 6, shapeSignature: 7, hasRank: 8 };
const QUANT = { min: 0, max: 1, scale: 2, zeroPoint: 3, detailsType: 4, quantizedDimension: 6 };
const OPERATOR = {
  opcodeIndex: 0, inputs: 1, outputs: 2, builtinOptionsType: 3, builtinOptions: 4, customOptions: 5,
  intermediates: 8, largeCustomOptionsOffset: 9, largeCustomOptionsSize: 10, builtinOptions2Type: 11, builtinOptions2: 12,
};
const BUFFER = { data: 0, offset: 1, size: 2 };
const METADATA = { name: 0, buffer: 1 };
const TENSOR_MAP = { name: 0, tensorIndex: 1 };
const SIGNATURE = { inputs: 0, outputs: 1, signatureKey: 2, subgraphIndex: 4 };

interface OpcodeInfo {
  builtinCode: number;
  customCode?: string;
  version: number;
  opName: string;
}

/** Decodes the whole model structure (not the constant data) with every read bounds-checked. */
export function decodeModel(view: FbView): TfliteModel {
  const src = view.src;
  if (src.size < 8) view.fail('', `${src.size} bytes is too small for a TFLite flatbuffer`);
  const ident = String.fromCharCode(...src.view(4, 4));
  if (ident !== 'TFL3') view.fail('', `file identifier is ${JSON.stringify(ident)}, expected "TFL3" (not a .tflite file?)`);
  const root = view.tableAt(0, 'model');
  const version = view.uint32(root, MODEL.version, 0);
  if (version !== 3) view.fail('model', `schema version ${version}, expected 3`);

  const opcodes = view.tables(root, MODEL.operatorCodes, 'operator_codes', (i) => `operator code ${i}`).map((t) => decodeOpcode(view, t));
  const buffers = view.tables(root, MODEL.buffers, 'buffers', (i) => `buffer ${i}`).map((t) => decodeBuffer(view, t));
  const subgraphs = view.tables(root, MODEL.subgraphs, 'subgraphs', (i) => `subgraph ${i}`).map((t, i) => decodeSubgraph(view, t, i, opcodes));
  const metadata = view.tables(root, MODEL.metadata, 'metadata', (i) => `metadata ${i}`).map((t) => ({
    name: view.string(t, METADATA.name, 'name') ?? '',
    buffer: view.uint32(t, METADATA.buffer, 0),
  }));
  const signatures = view.tables(root, MODEL.signatureDefs, 'signature_defs', (i) => `signature ${i}`).map((t) => decodeSignature(view, t));
  return {
    version,
    description: view.string(root, MODEL.description, 'description'),
    subgraphs,
    signatures,
    buffers,
    metadata,
    layout: buffers.some((b) => b.kind === 'offset') ? 'offset' : 'inline',
  };
}

function decodeOpcode(view: FbView, t: FbTable): OpcodeInfo {
  // As upstream's runtime: the real code is the larger of the two fields
  // (files from before builtin_code existed only fill the deprecated one).
  const deprecated = view.int8(t, OPCODE.deprecatedBuiltinCode, 0);
  const extended = view.int32(t, OPCODE.builtinCode, 0);
  if (deprecated < 0 || extended < 0) view.fail(t.where, `negative builtin code (${deprecated}, ${extended})`);
  const builtinCode = Math.max(deprecated, extended);
  const customCode = view.string(t, OPCODE.customCode, 'custom_code');
  const opName = builtinCode === 32 ? `CUSTOM:${customCode ?? ''}` : builtinOpName(builtinCode);
  return { builtinCode, customCode, version: view.int32(t, OPCODE.version, 1), opName };
}

function decodeBuffer(view: FbView, t: FbTable): TfliteBuffer {
  const data = view.vector(t, BUFFER.data, 1, 'data');
  const offset = view.uint64(t, BUFFER.offset, 0);
  const size = view.uint64(t, BUFFER.size, 0);
  // Upstream: offset/size count only when offset > 1 (1 is its placeholder).
  if (offset > 1) {
    if (data && data.length > 0) view.fail(t.where, 'has both inline data and an offset');
    if (offset + size > view.src.size) {
      view.fail(t.where, `data at byte ${offset} (${size} bytes) lies outside the file (${view.src.size} bytes)`);
    }
    return { kind: size > 0 ? 'offset' : 'empty', position: offset, size };
  }
  if (data && data.length > 0) return { kind: 'inline', position: data.start, size: data.length };
  return { kind: 'empty', position: 0, size: 0 };
}

function decodeSubgraph(view: FbView, t: FbTable, index: number, opcodes: OpcodeInfo[]): TfliteSubgraph {
  const where = `subgraph ${index}`;
  return {
    name: view.string(t, SUBGRAPH.name, 'name') ?? '',
    tensors: view.tables(t, SUBGRAPH.tensors, 'tensors', (i) => `${where} tensor ${i}`).map((tt) => decodeTensor(view, tt)),
    inputs: view.int32s(t, SUBGRAPH.inputs, 'inputs') ?? [],
    outputs: view.int32s(t, SUBGRAPH.outputs, 'outputs') ?? [],
    operators: view.tables(t, SUBGRAPH.operators, 'operators', (i) => `${where} operator ${i}`).map((ot) => decodeOperator(view, ot, opcodes)),
  };
}

function decodeTensor(view: FbView, t: FbTable): TfliteTensor {
  const typeCode = view.int8(t, TENSOR.type, 0);
  const type = tensorTypeName(typeCode) ?? view.fail(t.where, `unknown tensor type ${typeCode}`);
  const q = view.table(t, TENSOR.quantization, `${t.where} quantization`);
  return {
    name: view.string(t, TENSOR.name, 'name') ?? '',
    type,
    shape: view.int32s(t, TENSOR.shape, 'shape') ?? [],
    shapeSignature: view.int32s(t, TENSOR.shapeSignature, 'shape_signature'),
    buffer: view.uint32(t, TENSOR.buffer, 0),
    quantization: q ? decodeQuantization(view, q) : undefined,
    isVariable: view.bool(t, TENSOR.isVariable, false),
    hasRank: view.bool(t, TENSOR.hasRank, false),
    sparse: view.field(t, TENSOR.sparsity, 4) !== 0,
  };
}

/** Undefined when the table carries no scales (converters often write an empty one). */
function decodeQuantization(view: FbView, t: FbTable): Quantization | undefined {
  const scale = view.float32s(t, QUANT.scale, 'scale') ?? [];
  const zeroPoint = view.int64s(t, QUANT.zeroPoint, 'zero_point') ?? [];
  const min = view.float32s(t, QUANT.min, 'min');
  const max = view.float32s(t, QUANT.max, 'max');
  if (scale.length === 0 && zeroPoint.length === 0 && !min && !max) return undefined;
  const q: Quantization = { scale, zeroPoint, quantizedDimension: view.int32(t, QUANT.quantizedDimension, 0) };
  if (min) q.min = min;
  if (max) q.max = max;
  return q;
}

function decodeOperator(view: FbView, t: FbTable, opcodes: OpcodeInfo[]): TfliteOperator {
  const opcodeIndex = view.uint32(t, OPERATOR.opcodeIndex, 0);
  const code = opcodes[opcodeIndex] ?? view.fail(t.where, `operator code index ${opcodeIndex} out of range (${opcodes.length} codes)`);
  const op: TfliteOperator = {
    opName: code.opName,
    builtinCode: code.builtinCode,
    version: code.version,
    inputs: view.int32s(t, OPERATOR.inputs, 'inputs') ?? [],
    outputs: view.int32s(t, OPERATOR.outputs, 'outputs') ?? [],
    intermediates: view.int32s(t, OPERATOR.intermediates, 'intermediates') ?? [],
  };
  if (code.customCode !== undefined) op.customCode = code.customCode;

  const type1 = view.uint8(t, OPERATOR.builtinOptionsType, 0);
  const type2 = view.uint8(t, OPERATOR.builtinOptions2Type, 0);
  if (type1 && type2) view.fail(t.where, 'carries both builtin_options and builtin_options_2');
  if (type1) op.optionsTable = BuiltinOptions[type1] ?? `BuiltinOptions#${type1}`;
  if (type2) op.optionsTable = BuiltinOptions2[type2] ?? `BuiltinOptions2#${type2}`;
  const spec = optionTableOf(code.opName);
  if (spec) {
    const [carriedType, field] = spec.union === 'builtin_options' ? [type1, OPERATOR.builtinOptions] : [type2, OPERATOR.builtinOptions2];
    if ((type1 || type2) && (carriedType !== spec.unionType)) {
      view.fail(t.where, `${code.opName} carries ${op.optionsTable}, expected ${spec.table}`);
    }
    const table = carriedType ? view.table(t, field, `${t.where} ${spec.table}`) : undefined;
    // A missing options table means all defaults, as in upstream's runtime.
    op.options = table ? decodeOptions(view, table, spec) : decodeOptions(view, EMPTY_TABLE, spec);
  }

  const largeOffset = view.uint64(t, OPERATOR.largeCustomOptionsOffset, 0);
  if (largeOffset > 1) {
    const size = view.uint64(t, OPERATOR.largeCustomOptionsSize, 0);
    if (largeOffset + size > view.src.size) view.fail(t.where, `custom options at byte ${largeOffset} (${size} bytes) lie outside the file`);
    op.customOptions = view.src.copy(largeOffset, size);
  } else {
    const custom = view.bytes(t, OPERATOR.customOptions, 'custom_options');
    if (custom) op.customOptions = custom;
  }
  return op;
}

/** A table with no fields: decoding it yields every default. */
const EMPTY_TABLE: FbTable = { pos: 0, vtable: 0, vtableSize: 4, tableSize: 4, where: '' };

function decodeSignature(view: FbView, t: FbTable): TfliteSignature {
  const maps = (id: number, what: string) =>
    view.tables(t, id, what, (i) => `${t.where} ${what} ${i}`).map((m) => ({
      name: view.string(m, TENSOR_MAP.name, 'name') ?? '',
      tensorIndex: view.uint32(m, TENSOR_MAP.tensorIndex, 0),
    }));
  return {
    key: view.string(t, SIGNATURE.signatureKey, 'signature_key') ?? '',
    subgraphIndex: view.uint32(t, SIGNATURE.subgraphIndex, 0),
    inputs: maps(SIGNATURE.inputs, 'input'),
    outputs: maps(SIGNATURE.outputs, 'output'),
  };
}
