/**
 * Packs GEMM weights B once into the layout the micro-kernel reads (see
 * assembly/gemm.ts): panels of 8 columns, each K rows of 8 floats, zero-padded
 * past N. Float16 and int8 (symmetric, per output channel) weights are
 * expanded to float32 here, so the source tensors stay small until packed.
 */
import { UsageError } from '../../errors.js';
import type { WasmArena } from './arena.js';

/**
 * 'kn': B is [K, N] row-major (a plain matmul right-hand side).
 * 'nk': B is stored transposed, [N, K] row-major, as TFLite FULLY_CONNECTED
 * weights are (one row of K per output channel).
 */
export type WeightLayout = 'kn' | 'nk';

export type GemmWeightData =
  | { dtype: 'float32'; data: Float32Array }
  /** IEEE half-precision bit patterns. */
  | { dtype: 'float16'; data: Uint16Array }
  /** value = q * scale[n] (or scale[0] for all n when scales has length 1). */
  | { dtype: 'int8'; data: Int8Array; scales: Float32Array };

export type GemmWeights = GemmWeightData & {
  k: number;
  n: number;
  layout: WeightLayout;
  bias?: Float32Array;
};

/** Packed weights in the kernels' memory. */
export interface PackedGemm {
  readonly k: number;
  readonly n: number;
  /** Byte offset of the panels: ceil(n / 8) * k * 8 floats. */
  readonly ptr: number;
  /** Byte offset of the bias padded with zeros to a multiple of 8, or 0 without bias. */
  readonly biasPtr: number;
}

let halfTable: Float32Array | undefined;

/** float32 value of every half-precision bit pattern. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    let value: number;
    if (exponent === 0) value = mantissa * 2 ** -24;
    else if (exponent === 31) value = mantissa ? NaN : Infinity;
    else value = (1 + mantissa / 1024) * 2 ** (exponent - 15);
    halfTable[h] = sign * value;
  }
  return halfTable;
}

/** Source index of element (kk, col): the stride between k steps and the start of a column. */
function columnIndexing(w: GemmWeights): { kStride: number; start: (col: number) => number } {
  return w.layout === 'nk' ? { kStride: 1, start: (col) => col * w.k } : { kStride: w.n, start: (col) => col };
}

/** A function writing the float32 values of output channel `col` (K of them) to `dst`. */
function columnExpander(w: GemmWeights): (col: number, dst: Float32Array) => void {
  const { k } = w;
  const { kStride, start } = columnIndexing(w);
  switch (w.dtype) {
    case 'float32': {
      const data = w.data;
      return (col, dst) => {
        for (let kk = 0, i = start(col); kk < k; kk++, i += kStride) dst[kk] = data[i]!;
      };
    }
    case 'float16': {
      const data = w.data;
      const table = halfToFloatTable();
      return (col, dst) => {
        for (let kk = 0, i = start(col); kk < k; kk++, i += kStride) dst[kk] = table[data[i]!]!;
      };
    }
    case 'int8': {
      const { data, scales } = w;
      if (scales.length !== w.n && scales.length !== 1) {
        throw new UsageError(`int8 weights: ${scales.length} scales for ${w.n} output channels (need ${w.n} or 1)`);
      }
      return (col, dst) => {
        // Math.fround of the double product equals the float32 product q * scale.
        const scale = scales[scales.length === 1 ? 0 : col]!;
        for (let kk = 0, i = start(col); kk < k; kk++, i += kStride) dst[kk] = Math.fround(data[i]! * scale);
      };
    }
  }
}

function checkShape(w: GemmWeights): void {
  const { k, n } = w;
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 1) {
    throw new UsageError(`GEMM weights: bad shape K=${k}, N=${n}`);
  }
  if (w.data.length !== k * n) {
    throw new UsageError(`GEMM weights: ${w.data.length} elements for K=${k} x N=${n}`);
  }
  if (w.bias && w.bias.length !== n) throw new UsageError(`GEMM bias: ${w.bias.length} elements for N=${n}`);
}

/** Number of bytes packGemmWeights allocates (before alignment). */
export function packedGemmBytes(k: number, n: number, withBias: boolean): number {
  const panels = Math.ceil(n / 8);
  return panels * k * 32 + (withBias ? panels * 32 : 0);
}

/** Allocates and fills the packed weights (and padded bias) in `arena`. */
export function packGemmWeights(arena: WasmArena, w: GemmWeights): PackedGemm {
  checkShape(w);
  const { k, n } = w;
  const panels = Math.ceil(n / 8);
  const ptr = arena.alloc(panels * k * 32);
  const out = arena.f32(ptr, panels * k * 8);
  const expand = columnExpander(w);
  const column = new Float32Array(k);
  for (let p = 0; p < panels; p++) {
    const base = p * k * 8;
    for (let j = 0; j < 8; j++) {
      const col = p * 8 + j;
      if (col < n) expand(col, column);
      else column.fill(0);
      for (let kk = 0, o = base + j; kk < k; kk++, o += 8) out[o] = column[kk]!;
    }
  }
  let biasPtr = 0;
  if (w.bias) {
    biasPtr = arena.alloc(panels * 32);
    const bias = arena.f32(biasPtr, panels * 8);
    bias.fill(0);
    bias.set(w.bias);
  }
  return { k, n, ptr, biasPtr };
}
