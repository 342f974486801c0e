import type { TensorTypeName } from './types.js';

/** The plain view of a .tflite file that the reader returns. */

/** f = scale * (q - zeroPoint); one entry per tensor, or one per slice along quantizedDimension. */
export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
  min?: number[];
  max?: number[];
}

export interface TfliteTensor {
  name: string;
  type: TensorTypeName;
  /** Static shape; a dynamic dimension is stored here as 1 (see shapeSignature). */
  shape: number[];
  /** Shape with -1 for dynamic dimensions, when the file records one. */
  shapeSignature?: number[];
  /** Index into TfliteModel.buffers; 0 = no data. */
  buffer: number;
  quantization?: Quantization;
  isVariable: boolean;
  hasRank: boolean;
  /** The tensor is stored sparse (we report it, we do not decode it). */
  sparse: boolean;
}

export interface TfliteOperator {
  /** Builtin name ('CONV_2D'), `CUSTOM:<code>` for custom ops, `BUILTIN_<n>` for codes newer than our schema. */
  opName: string;
  builtinCode: number;
  customCode?: string;
  version: number;
  /** Tensor indices; -1 = optional input left out. */
  inputs: number[];
  outputs: number[];
  intermediates: number[];
  /** Decoded builtin options (every field, defaults filled in) for ops we know; see OpOptionsMap. */
  options?: Record<string, unknown>;
  /** Name of the options table the file carries, even when we do not decode it. */
  optionsTable?: string;
  customOptions?: Uint8Array;
}

export interface TfliteSubgraph {
  name: string;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

export interface TensorMapEntry {
  name: string;
  tensorIndex: number;
}

export interface TfliteSignature {
  key: string;
  subgraphIndex: number;
  inputs: TensorMapEntry[];
  outputs: TensorMapEntry[];
}

/** Where a buffer's bytes are: inside the flatbuffer, after it (offset layout), or nowhere. */
export interface TfliteBuffer {
  kind: 'empty' | 'inline' | 'offset';
  /** Absolute byte position in the file of the first data byte. */
  position: number;
  size: number;
}

export interface TfliteMetadata {
  name: string;
  buffer: number;
}

export interface TfliteModel {
  version: number;
  description?: string;
  subgraphs: TfliteSubgraph[];
  signatures: TfliteSignature[];
  buffers: TfliteBuffer[];
  metadata: TfliteMetadata[];
  /** 'offset' when any buffer is stored after the flatbuffer. */
  layout: 'inline' | 'offset';
}
