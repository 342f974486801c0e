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
  /**
   * Reads `data` afresh (a constant streamed from its file): streamed packed
   * weights then keep no copy of the values between uses.
   */
  source?: () => GemmWeightData['data'];
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

/** Writes the panels of `w` (ceil(n / 8) · k · 8 floats) to `out`, zeros past N; one tight loop per encoding. */
function packPanels(w: GemmWeights, out: Float32Array): void {
  const { k, n } = w;
  const kStride = w.layout === 'nk' ? 1 : n;
  const colStride = w.layout === 'nk' ? k : 1;
  const panels = Math.ceil(n / 8);
  if (w.dtype === 'int8' && w.scales.length !== n && w.scales.length !== 1) {
    throw new UsageError(`int8 weights: ${w.scales.length} scales for ${n} output channels (need ${n} or 1)`);
  }
  for (let p = 0; p < panels; p++) {
    const base = p * k * 8;
    for (let j = 0; j < 8; j++) {
      const col = p * 8 + j;
      const first = col * colStride;
      if (col >= n) {
        for (let kk = 0, o = base + j; kk < k; kk++, o += 8) out[o] = 0;
        continue;
      }
      // float32 stores round the double products once, as a float32 multiply would.
      switch (w.dtype) {
        case 'float32': {
          const d = w.data;
          for (let kk = 0, i = first, o = base + j; kk < k; kk++, i += kStride, o += 8) out[o] = d[i]!;
          break;
        }
        case 'float16': {
          const d = w.data;
          const table = halfToFloatTable();
          for (let kk = 0, i = first, o = base + j; kk < k; kk++, i += kStride, o += 8) out[o] = table[d[i]!]!;
          break;
        }
        case 'int8': {
          const d = w.data;
          const scale = w.scales[w.scales.length === 1 ? 0 : col]!;
          for (let kk = 0, i = first, o = base + j; kk < k; kk++, i += kStride, o += 8) out[o] = d[i]! * scale;
          break;
        }
      }
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

/** Bytes of the panels alone. */
function panelBytes(k: number, n: number): number {
  return Math.ceil(n / 8) * k * 32;
}

function packBias(arena: WasmArena, n: number, bias: Float32Array | undefined): number {
  if (!bias) return 0;
  const panels = Math.ceil(n / 8);
  const ptr = arena.alloc(panels * 32);
  const view = arena.f32(ptr, panels * 8);
  view.fill(0);
  view.set(bias);
  return ptr;
}

/**
 * Weights packed into the arena's shared slot (WasmArena.weightSlot) each
 * time a kernel asks for `ptr`, unless the slot still holds them: nothing
 * of them stays in kernel memory between uses. With `source` (a streamed
 * constant) not even the compact values are kept: they are read again from
 * the file for each packing.
 */
class StreamedGemm implements PackedGemm {
  readonly k: number;
  readonly n: number;
  readonly biasPtr: number;
  private readonly weights: GemmWeights;

  constructor(
    private readonly arena: WasmArena,
    w: GemmWeights,
  ) {
    this.k = w.k;
    this.n = w.n;
    this.biasPtr = packBias(arena, w.n, w.bias);
    // Keep only what cannot be read again.
    this.weights = w.source ? { ...w, data: undefined as never, bias: undefined } : { ...w, bias: undefined };
    arena.weightSlot(panelBytes(w.k, w.n)); // sized at prepare time, below any run-time scratch
  }

  get ptr(): number {
    const bytes = panelBytes(this.k, this.n);
    const slot = this.arena.weightSlot(bytes);
    if (slot.holder !== this) {
      const w = this.weights.source ? ({ ...this.weights, data: this.weights.source() } as GemmWeights) : this.weights;
      checkShape(w);
      packPanels(w, this.arena.f32(slot.ptr, bytes / 4));
      slot.holder = this;
    }
    return slot.ptr;
  }
}

/**
 * Packs B for the GEMM. Resident (in the arena for good) while the arena's
 * residentWeightBudget allows, else streamed (StreamedGemm): packed into a
 * shared slot before each use. With `w.source` (a streamed constant)
 * streamed weights keep no copy of the values at all.
 */
export function packGemmWeights(arena: WasmArena, w: GemmWeights): PackedGemm {
  checkShape(w);
  const { k, n } = w;
  const bytes = panelBytes(k, n);
  if (arena.residentWeightBytes + bytes > arena.residentWeightBudget) return new StreamedGemm(arena, w);
  arena.residentWeightBytes += bytes;
  const ptr = arena.alloc(bytes);
  packPanels(w, arena.f32(ptr, bytes / 4));
  return { k, n, ptr, biasPtr: packBias(arena, n, w.bias) };
}
