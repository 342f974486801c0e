/**
 * Checkpoint weights as graph constants, in the precision asked for:
 *
 * - fp32: FLOAT32 constants.
 * - fp16: FLOAT16 constants, each followed by DEQUANTIZE to FLOAT32.
 * - int8: conv and linear weights and the token embedding as INT8,
 *   symmetric, one scale per output channel (quantized_dimension 0), then
 *   DEQUANTIZE (the reference converter's weight-only recipe); everything
 *   else (biases, norms, position embedding) stays FLOAT32.
 *
 * Data is not read when the graph is built but when the file is written:
 * each constant is a producer that reads its tensor from the checkpoint,
 * converts it and hands the bytes to the writer, so only one tensor is in
 * memory at a time. int8 scales go into the flatbuffer before any data, so
 * a quantized tensor is read twice (once for its scales, once to write).
 */
import { f32ArrayToF16 } from '../../io/half.js';
import type { ConstantData } from '../../tflite/writer.js';
import type { Graph, Tensor } from './graph.js';

export type Precision = 'fp32' | 'fp16' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'int8'];

/** Rows [start, start + count) of a tensor's first dimension. */
export interface RowRange {
  start: number;
  count: number;
}

/** A checkpoint's float tensors by their LDM name (see src/models/checkpoint/). */
export interface WeightSource {
  /** The tensor's shape (it must exist: checkpoints are validated before building). */
  shape(name: string): number[];
  /** The tensor (or some of its rows) as float32. */
  read(name: string, rows?: RowRange): Float32Array;
}

/** Called after each constant's bytes are written (for progress bars). */
export type WrittenListener = (name: string, bytes: number) => void;

type Layout = 'plain' | 'ohwi';

const bytesOf = (a: Float32Array | Uint16Array | Int8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class Weights {
  /** Constants added so far and their total size: what the progress bar counts to. */
  count = 0;
  bytes = 0;
  onWritten: WrittenListener = () => {};

  constructor(
    private readonly graph: Graph,
    private readonly source: WeightSource,
    readonly precision: Precision,
  ) {}

  /** A float parameter (bias, norm weight, embedding table) as a FLOAT32 tensor. */
  param(name: string, rows?: RowRange): Tensor {
    return this.constant(name, 'plain', false, rows);
  }

  /** nn.Linear weight [out, in] (FULLY_CONNECTED's layout already). */
  linearWeight(name: string, rows?: RowRange): Tensor {
    return this.constant(name, 'plain', true, rows);
  }

  /** nn.Conv2d weight, PyTorch OIHW transposed to TFLite's OHWI. */
  convWeight(name: string, rows?: RowRange): Tensor {
    return this.constant(name, 'ohwi', true, rows);
  }

  /** Token embedding table [vocab, hidden]; int8 at --precision int8 (one scale per row). */
  embedding(name: string): Tensor {
    return this.constant(name, 'plain', true);
  }

  private constant(name: string, layout: Layout, quantizable: boolean, rows?: RowRange): Tensor {
    const full = this.source.shape(name);
    const pt = rows ? [rows.count, ...full.slice(1)] : full;
    // OIHW -> OHWI
    const shape = layout === 'ohwi' ? [pt[0]!, pt[2]!, pt[3]!, pt[1]!] : pt;
    const label = rows ? `${name}[${rows.start}:${rows.start + rows.count}]` : name;
    const load = () => {
      const values = this.source.read(name, rows);
      return layout === 'ohwi' ? oihwToOhwi(values, pt) : values;
    };
    const g = this.graph;
    if (this.precision === 'int8' && quantizable) {
      // Dimension 0 is the output channel in both layouts: scales need no transpose.
      const scale = channelScales(this.source.read(name, rows), shape[0]!);
      const data = this.producer(label, elementCount(shape), (emit) => emit(bytesOf(quantize(load(), scale))));
      const q = g.sg.addConstant(label, 'INT8', shape, data, { quantization: { scale, quantizedDimension: 0 } });
      return g.dequantize({ id: q, shape, type: 'INT8' }, `${label}/dequantize`);
    }
    if (this.precision === 'fp16') {
      const data = this.producer(label, 2 * elementCount(shape), (emit) => emit(bytesOf(f32ArrayToF16(load()))));
      const h = g.sg.addConstant(label, 'FLOAT16', shape, data);
      return g.dequantize({ id: h, shape, type: 'FLOAT16' }, `${label}/dequantize`);
    }
    const data = this.producer(label, 4 * elementCount(shape), (emit) => emit(bytesOf(load())));
    return { id: g.sg.addConstant(label, 'FLOAT32', shape, data), shape, type: 'FLOAT32' };
  }

  private producer(label: string, byteLength: number, produce: (emit: (chunk: Uint8Array) => void) => void): ConstantData {
    this.count++;
    this.bytes += byteLength;
    return {
      byteLength,
      produce: (emit) => {
        produce(emit);
        this.onWritten(label, byteLength);
      },
    };
  }
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function oihwToOhwi(w: Float32Array, [o, i, h, wd]: readonly number[]): Float32Array {
  const out = new Float32Array(w.length);
  const hw = h! * wd!;
  for (let oc = 0; oc < o!; oc++) {
    const src = oc * i! * hw;
    const dst = oc * hw * i!;
    for (let ic = 0; ic < i!; ic++) {
      for (let k = 0; k < hw; k++) out[dst + k * i! + ic] = w[src + ic * hw + k]!;
    }
  }
  return out;
}

/** Symmetric int8 scale of each slice along dimension 0: max|w| / 127 (1 for an all-zero slice). */
export function channelScales(w: Float32Array, channels: number): number[] {
  const per = w.length / channels;
  const scales: number[] = [];
  for (let c = 0; c < channels; c++) {
    let max = 0;
    for (let i = c * per; i < (c + 1) * per; i++) max = Math.max(max, Math.abs(w[i]!));
    // Stored as float32 in the file: quantize with exactly that value.
    scales.push(max > 0 ? Math.fround(max / 127) : 1);
  }
  return scales;
}

export function quantize(w: Float32Array, scales: readonly number[]): Int8Array {
  const per = w.length / scales.length;
  const q = new Int8Array(w.length);
  for (let c = 0; c < scales.length; c++) {
    const inv = 1 / scales[c]!;
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! * inv)));
  }
  return q;
}
