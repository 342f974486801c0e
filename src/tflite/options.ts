import type { Builder } from 'flatbuffers';
import { BuiltinOptions } from './schema/tflite/builtin-options.js';
import { BuiltinOptions2 } from './schema/tflite/builtin-options2.js';
import type { FbTable, FbView } from './fb-view.js';
import { tensorTypeCode, tensorTypeName, type TensorTypeName } from './types.js';

// Typed operator options, encoded and decoded from one field list per
// options table (OPTION_TABLES below), in schema field order, so the writer
// and the reader cannot disagree on field ids. Defaults are the schema's.

export type Padding = 'SAME' | 'VALID';
export type Activation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';

export interface Conv2DOptions {
  padding: Padding; strideW: number; strideH: number; fusedActivationFunction: Activation;
  dilationWFactor: number; dilationHFactor: number; quantizedBiasType: TensorTypeName;
}
export interface Pool2DOptions {
  padding: Padding; strideW: number; strideH: number; filterWidth: number; filterHeight: number;
  fusedActivationFunction: Activation;
}
export interface DepthwiseConv2DOptions {
  padding: Padding; strideW: number; strideH: number; depthMultiplier: number;
  fusedActivationFunction: Activation; dilationWFactor: number; dilationHFactor: number;
}
export interface FullyConnectedOptions {
  fusedActivationFunction: Activation; weightsFormat: 'DEFAULT' | 'SHUFFLED4x16INT8'; keepNumDims: boolean;
  asymmetricQuantizeInputs: boolean; quantizedBiasType: TensorTypeName;
}
export interface SoftmaxOptions { beta: number }
export interface ConcatenationOptions { axis: number; fusedActivationFunction: Activation }
export interface AddSubOptions { fusedActivationFunction: Activation; potScaleInt16: boolean }
export interface MulDivOptions { fusedActivationFunction: Activation }
export interface ResizeOptions { alignCorners: boolean; halfPixelCenters: boolean }
export interface ReshapeOptions { newShape?: number[] }
export interface GatherOptions { axis: number; batchDims: number }
export interface ReducerOptions { keepDims: boolean }
export interface SqueezeOptions { squeezeDims?: number[] }
export interface SplitOptions { numSplits: number }
export interface StridedSliceOptions {
  beginMask: number; endMask: number; ellipsisMask: number; newAxisMask: number; shrinkAxisMask: number; offset: boolean;
}
export interface CastOptions { inDataType: TensorTypeName; outDataType: TensorTypeName }
/** outType: INT32 or INT64 (TFLite's SHAPE kernel fails when the table is absent). */
export interface ShapeOptions { outType: TensorTypeName }
export interface BatchMatMulOptions { adjX: boolean; adjY: boolean; asymmetricQuantizeInputs: boolean }
export interface GeluOptions { approximate: boolean }
export interface StableHLOCompositeOptions {
  name?: string; decompositionSubgraphIndex: number; compositeAttributes?: Uint8Array;
  compositeAttributesFormat: 'FLEXBUFFERS'; version: number;
}
export type EmptyOptions = Record<string, never>;

/** The decoded options of each builtin operator whose options we know. */
export interface OpOptionsMap {
  CONV_2D: Conv2DOptions;
  DEPTHWISE_CONV_2D: DepthwiseConv2DOptions;
  AVERAGE_POOL_2D: Pool2DOptions;
  MAX_POOL_2D: Pool2DOptions;
  L2_POOL_2D: Pool2DOptions;
  FULLY_CONNECTED: FullyConnectedOptions;
  SOFTMAX: SoftmaxOptions;
  CONCATENATION: ConcatenationOptions;
  ADD: AddSubOptions;
  SUB: AddSubOptions;
  MUL: MulDivOptions;
  DIV: MulDivOptions;
  RESIZE_BILINEAR: ResizeOptions;
  RESIZE_NEAREST_NEIGHBOR: ResizeOptions;
  RESHAPE: ReshapeOptions;
  PAD: EmptyOptions;
  GATHER: GatherOptions;
  TRANSPOSE: EmptyOptions;
  MEAN: ReducerOptions;
  SUM: ReducerOptions;
  REDUCE_MAX: ReducerOptions;
  REDUCE_MIN: ReducerOptions;
  REDUCE_PROD: ReducerOptions;
  SQUEEZE: SqueezeOptions;
  STRIDED_SLICE: StridedSliceOptions;
  SPLIT: SplitOptions;
  CAST: CastOptions;
  SHAPE: ShapeOptions;
  DEQUANTIZE: EmptyOptions;
  BATCH_MATMUL: BatchMatMulOptions;
  GELU: GeluOptions;
  STABLEHLO_COMPOSITE: StableHLOCompositeOptions;
}
export type OpWithOptions = keyof OpOptionsMap;

type FieldKind = 'bool' | 'int32' | 'float32' | 'padding' | 'activation' | 'tensorType' | 'weightsFormat'
  | 'optionsFormat' | 'int32s' | 'string' | 'bytes';
/** [property name, kind, schema default]; null keeps the id of a deprecated field. */
type FieldSpec = readonly [string, FieldKind, unknown] | null;

interface TableSpec {
  table: string;
  /** Which operator union carries it, and its member index there. */
  union: 'builtin_options' | 'builtin_options_2';
  unionType: number;
  fields: readonly FieldSpec[];
}

const ENUMS: Record<'padding' | 'activation' | 'weightsFormat' | 'optionsFormat', readonly string[]> = {
  padding: ['SAME', 'VALID'],
  activation: ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'],
  weightsFormat: ['DEFAULT', 'SHUFFLED4x16INT8'],
  optionsFormat: ['FLEXBUFFERS'],
};

const act = (): FieldSpec => ['fusedActivationFunction', 'activation', 'NONE'];
const spec1 = (table: keyof typeof BuiltinOptions, fields: FieldSpec[]): TableSpec =>
  ({ table, union: 'builtin_options', unionType: BuiltinOptions[table], fields });

const CONV2D = spec1('Conv2DOptions', [
  ['padding', 'padding', 'SAME'], ['strideW', 'int32', 0], ['strideH', 'int32', 0], act(),
  ['dilationWFactor', 'int32', 1], ['dilationHFactor', 'int32', 1], ['quantizedBiasType', 'tensorType', 'FLOAT32'],
]);
const POOL2D = spec1('Pool2DOptions', [
  ['padding', 'padding', 'SAME'], ['strideW', 'int32', 0], ['strideH', 'int32', 0],
  ['filterWidth', 'int32', 0], ['filterHeight', 'int32', 0], act(),
]);
const DEPTHWISE = spec1('DepthwiseConv2DOptions', [
  ['padding', 'padding', 'SAME'], ['strideW', 'int32', 0], ['strideH', 'int32', 0],
  ['depthMultiplier', 'int32', 0], act(), ['dilationWFactor', 'int32', 1], ['dilationHFactor', 'int32', 1],
]);
const FULLY_CONNECTED = spec1('FullyConnectedOptions', [
  act(), ['weightsFormat', 'weightsFormat', 'DEFAULT'], ['keepNumDims', 'bool', false],
  ['asymmetricQuantizeInputs', 'bool', false], ['quantizedBiasType', 'tensorType', 'FLOAT32'],
]);
const REDUCER = spec1('ReducerOptions', [['keepDims', 'bool', false]]);

/** Options table of each operator; operators missing here take no options. */
export const OPTION_TABLES: Record<OpWithOptions, TableSpec> = {
  CONV_2D: CONV2D,
  DEPTHWISE_CONV_2D: DEPTHWISE,
  AVERAGE_POOL_2D: POOL2D,
  MAX_POOL_2D: POOL2D,
  L2_POOL_2D: POOL2D,
  FULLY_CONNECTED,
  SOFTMAX: spec1('SoftmaxOptions', [['beta', 'float32', 0]]),
  CONCATENATION: spec1('ConcatenationOptions', [['axis', 'int32', 0], act()]),
  ADD: spec1('AddOptions', [act(), ['potScaleInt16', 'bool', true]]),
  SUB: spec1('SubOptions', [act(), ['potScaleInt16', 'bool', true]]),
  MUL: spec1('MulOptions', [act()]),
  DIV: spec1('DivOptions', [act()]),
  RESIZE_BILINEAR: spec1('ResizeBilinearOptions', [null, null, ['alignCorners', 'bool', false], ['halfPixelCenters', 'bool', false]]),
  RESIZE_NEAREST_NEIGHBOR: spec1('ResizeNearestNeighborOptions', [['alignCorners', 'bool', false], ['halfPixelCenters', 'bool', false]]),
  RESHAPE: spec1('ReshapeOptions', [['newShape', 'int32s', undefined]]),
  PAD: spec1('PadOptions', []),
  GATHER: spec1('GatherOptions', [['axis', 'int32', 0], ['batchDims', 'int32', 0]]),
  TRANSPOSE: spec1('TransposeOptions', []),
  MEAN: REDUCER,
  SUM: REDUCER,
  REDUCE_MAX: REDUCER,
  REDUCE_MIN: REDUCER,
  REDUCE_PROD: REDUCER,
  SQUEEZE: spec1('SqueezeOptions', [['squeezeDims', 'int32s', undefined]]),
  STRIDED_SLICE: spec1('StridedSliceOptions', [
    ['beginMask', 'int32', 0], ['endMask', 'int32', 0], ['ellipsisMask', 'int32', 0],
    ['newAxisMask', 'int32', 0], ['shrinkAxisMask', 'int32', 0], ['offset', 'bool', false],
  ]),
  SPLIT: spec1('SplitOptions', [['numSplits', 'int32', 0]]),
  CAST: spec1('CastOptions', [['inDataType', 'tensorType', 'FLOAT32'], ['outDataType', 'tensorType', 'FLOAT32']]),
  SHAPE: spec1('ShapeOptions', [['outType', 'tensorType', 'FLOAT32']]),
  DEQUANTIZE: spec1('DequantizeOptions', []),
  BATCH_MATMUL: spec1('BatchMatMulOptions', [['adjX', 'bool', false], ['adjY', 'bool', false], ['asymmetricQuantizeInputs', 'bool', false]]),
  GELU: spec1('GeluOptions', [['approximate', 'bool', false]]),
  STABLEHLO_COMPOSITE: {
    table: 'StableHLOCompositeOptions',
    union: 'builtin_options_2',
    unionType: BuiltinOptions2.StableHLOCompositeOptions,
    fields: [
      ['name', 'string', undefined], ['decompositionSubgraphIndex', 'int32', 0], ['compositeAttributes', 'bytes', undefined],
      ['compositeAttributesFormat', 'optionsFormat', 'FLEXBUFFERS'], ['version', 'int32', 0],
    ],
  },
};

export function optionTableOf(opName: string): TableSpec | undefined {
  return Object.hasOwn(OPTION_TABLES, opName) ? OPTION_TABLES[opName as OpWithOptions] : undefined;
}

/** Fills schema defaults into a partial options object (and checks it names only real fields). */
export function withDefaults<K extends OpWithOptions>(op: K, given: Partial<OpOptionsMap[K]>): OpOptionsMap[K] {
  const spec = OPTION_TABLES[op];
  const out: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const f of spec.fields) {
    if (!f) continue;
    known.add(f[0]);
    const v = (given as Record<string, unknown>)[f[0]];
    if (v !== undefined) out[f[0]] = v;
    else if (f[2] !== undefined) out[f[0]] = f[2];
  }
  for (const key of Object.keys(given)) {
    if (!known.has(key)) throw new TypeError(`${op} has no option '${key}' (it has: ${[...known].join(', ') || 'none'})`);
  }
  return out as unknown as OpOptionsMap[K];
}

function enumCode(kind: keyof typeof ENUMS | 'tensorType', value: unknown, prop: string): number {
  const code = kind === 'tensorType' ? tensorTypeCode(value as TensorTypeName) : ENUMS[kind].indexOf(value as string);
  if (typeof code !== 'number' || code < 0) throw new TypeError(`option ${prop}: unknown value ${String(value)}`);
  return code;
}

/** Writes an options table; returns its offset (values already defaulted). */
export function encodeOptions(b: Builder, spec: TableSpec, options: Record<string, unknown>): number {
  // Vectors and strings must be created before the table is started.
  const refs = new Map<string, number>();
  for (const f of spec.fields) {
    if (!f || options[f[0]] === undefined) continue;
    const [prop, kind] = f;
    const v = options[prop];
    if (kind === 'int32s') {
      const list = v as number[];
      b.startVector(4, list.length, 4);
      for (let i = list.length - 1; i >= 0; i--) b.addInt32(list[i]!);
      refs.set(prop, b.endVector());
    } else if (kind === 'string') refs.set(prop, b.createString(v as string));
    else if (kind === 'bytes') refs.set(prop, b.createByteVector(v as Uint8Array));
  }
  b.startObject(spec.fields.length);
  spec.fields.forEach((f, id) => {
    if (!f) return;
    const [prop, kind, def] = f;
    const v = options[prop];
    if (v === undefined) return;
    switch (kind) {
      case 'bool': b.addFieldInt8(id, v ? 1 : 0, def ? 1 : 0); break;
      case 'int32': b.addFieldInt32(id, v as number, def as number); break;
      case 'float32': b.addFieldFloat32(id, v as number, def as number); break;
      case 'int32s': case 'string': case 'bytes': b.addFieldOffset(id, refs.get(prop)!, 0); break;
      default: b.addFieldInt8(id, enumCode(kind, v, prop), enumCode(kind, def, prop));
    }
  });
  return b.endObject();
}

/** Reads an options table into a plain object with every field (defaults filled in). */
export function decodeOptions(view: FbView, t: FbTable, spec: TableSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  spec.fields.forEach((f, id) => {
    if (!f) return;
    const [prop, kind, def] = f;
    let v: unknown;
    switch (kind) {
      case 'bool': v = view.bool(t, id, def as boolean); break;
      case 'int32': v = view.int32(t, id, def as number); break;
      case 'float32': v = view.float32(t, id, def as number); break;
      case 'int32s': v = view.int32s(t, id, prop); break;
      case 'string': v = view.string(t, id, prop); break;
      case 'bytes': v = view.bytes(t, id, prop); break;
      case 'tensorType': {
        const code = view.int8(t, id, 0);
        v = tensorTypeName(code) ?? view.fail(t.where, `${spec.table}.${prop}: unknown tensor type ${code}`);
        break;
      }
      default: {
        const code = view.int8(t, id, 0);
        v = ENUMS[kind][code] ?? view.fail(t.where, `${spec.table}.${prop}: unknown value ${code}`);
      }
    }
    if (v !== undefined) out[prop] = v;
  });
  return out;
}
