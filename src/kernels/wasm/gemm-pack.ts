/**
 * Packs GEMM weights B once into the layout the micro-kernel reads (see
 * assembly/gemm.ts): panels of 8 columns, each K rows of 8 floats, zero-padded
 * past N. Float16 and int8 (symmetric, per output channel) weights are
 * expanded to float32 here, so the source tensors stay small until packed.
 * The work runs in kernel memory on all threads (assembly/gemm-pack.ts).
 */
import { UsageError } from '../../errors.js';
import type { WasmArena } from './arena.js';
import type { KernelRuntime } from './runtime.js';

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

/** Encoding and layout codes of the assembly kernel (assembly/gemm-pack.ts). */
const DTYPE_CODE = { float32: 0, float16: 1, int8: 2 } as const;
const LAYOUT_CODE = { kn: 0, nk: 1 } as const;
const ELEMENT_BYTES = { float32: 4, float16: 2, int8: 1 } as const;

/**
 * Most bytes of 'nk' weights staged per packing job: B's rows go to kernel
 * memory a few panels at a time, so the kernel reads them from cache and the
 * staging scratch stays small ('kn' columns are not contiguous: staged whole).
 */
const STAGE_BYTES = 4 << 20;

/** Copies `values` as stored to byte offset `ptr` of `buffer` (one TypedArray.set). */
function stage(buffer: ArrayBufferLike, ptr: number, values: GemmWeightData['data']): void {
  if (values instanceof Float32Array) new Float32Array(buffer, ptr, values.length).set(values);
  else if (values instanceof Uint16Array) new Uint16Array(buffer, ptr, values.length).set(values);
  else new Int8Array(buffer, ptr, values.length).set(values);
}

/**
 * Writes the panels of `w` (ceil(n / 8) · k · 8 floats, zeros past N) to
 * `out` in kernel memory from `data` (w's values, or the ones just read
 * again from the file): stages the stored values in scratch above the
 * arena's top (freed again), then converts and rearranges them on all
 * threads (assembly/gemm-pack.ts).
 */
function packPanels(runtime: KernelRuntime, w: GemmWeights, data: GemmWeightData['data'], out: number): void {
  const { arena } = runtime;
  const { k, n } = w;
  const size = ELEMENT_BYTES[w.dtype];
  const panels = Math.ceil(n / 8);
  const panelsPerJob = w.layout === 'nk' ? Math.max(1, Math.floor(STAGE_BYTES / (8 * k * size))) : panels;
  const mark = arena.top;
  try {
    let scales = 0;
    if (w.dtype === 'int8') {
      scales = arena.alloc(w.scales.length * 4);
      arena.f32(scales, w.scales.length).set(w.scales);
    }
    const staging = arena.alloc(Math.max(1, Math.min(n, panelsPerJob * 8) * k * size));
    const { buffer } = arena.memory;
    const perChannel = w.dtype === 'int8' && w.scales.length > 1 ? 1 : 0;
    for (let first = 0; first < panels; first += panelsPerJob) {
      const last = Math.min(panels, first + panelsPerJob);
      stage(buffer, staging, w.layout === 'nk' ? data.subarray(first * 8 * k, Math.min(n, last * 8) * k) : data);
      runtime.pool.run('packGemmPanels', [staging, DTYPE_CODE[w.dtype], LAYOUT_CODE[w.layout], scales, perChannel, k, n, out, first, last]);
    }
  } finally {
    arena.reset(mark);
  }
}

function checkShape(w: GemmWeights): void {
  const { k, n } = w;
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 1) {
    throw new UsageError(`GEMM weights: bad shape K=${k}, N=${n}`);
  }
  checkData(w, w.data);
  if (w.bias && w.bias.length !== n) throw new UsageError(`GEMM bias: ${w.bias.length} elements for N=${n}`);
}

/** Checks the values (`data`, as read now) and, for int8, the scales against the shape. */
function checkData(w: GemmWeights, data: GemmWeightData['data']): void {
  const { k, n } = w;
  const expected = { float32: Float32Array, float16: Uint16Array, int8: Int8Array }[w.dtype];
  if (!(data instanceof expected)) throw new UsageError(`GEMM weights: ${w.dtype} values in a ${data.constructor.name}`);
  if (data.length !== k * n) throw new UsageError(`GEMM weights: ${data.length} elements for K=${k} x N=${n}`);
  if (w.dtype === 'int8' && w.scales.length !== n && w.scales.length !== 1) {
    throw new UsageError(`int8 weights: ${w.scales.length} scales for ${n} output channels (need ${n} or 1)`);
  }
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
 * of them stays in kernel memory between uses. With `source` (a
 * streamed constant) not even the compact values are kept: they are read
 * again from the file for each packing.
 */
class StreamedGemm implements PackedGemm {
  readonly k: number;
  readonly n: number;
  readonly biasPtr: number;
  private readonly weights: GemmWeights;

  constructor(
    private readonly runtime: KernelRuntime,
    w: GemmWeights,
  ) {
    this.k = w.k;
    this.n = w.n;
    this.biasPtr = packBias(runtime.arena, w.n, w.bias);
    // Keep only what cannot be read again.
    this.weights = w.source ? { ...w, data: undefined as never, bias: undefined } : { ...w, bias: undefined };
    runtime.arena.weightSlot(panelBytes(w.k, w.n)); // sized at prepare time, below any run-time scratch
  }

  get ptr(): number {
    const slot = this.runtime.arena.weightSlot(panelBytes(this.k, this.n));
    if (slot.holder !== this) {
      const w = this.weights;
      const data = w.source ? w.source() : w.data;
      checkData(w, data);
      slot.holder = undefined; // half-written if the packing throws
      packPanels(this.runtime, w, data, slot.ptr);
      slot.holder = this;
    }
    return slot.ptr;
  }
}

/**
 * Packs B for the GEMM. Resident (in the arena for good) while the arena's
 * residentWeightBudget allows, else streamed (StreamedGemm): packed into a
 * shared slot before each use. With `w.source` (a streamed constant)
 * streamed weights keep no copy of the values at all. Packing runs on the
 * runtime's threads (assembly/gemm-pack.ts).
 */
export function packGemmWeights(runtime: KernelRuntime, w: GemmWeights): PackedGemm {
  checkShape(w);
  const { arena } = runtime;
  const { k, n } = w;
  const bytes = panelBytes(k, n);
  if (arena.residentWeightBytes + bytes > arena.residentWeightBudget) return new StreamedGemm(runtime, w);
  arena.residentWeightBytes += bytes;
  const ptr = arena.alloc(bytes);
  packPanels(runtime, w, w.data, ptr);
  return { k, n, ptr, biasPtr: packBias(arena, n, w.bias) };
}
