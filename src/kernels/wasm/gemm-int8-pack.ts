/**
 * Packs int8 weights (symmetric, per output channel, TFLite's [N, K] layout)
 * for the hybrid int8 GEMM (assembly/gemm-int8.ts). The weights stay int8 in
 * the kernels' memory (a quarter of the float32 packing), in panels of 8
 * output channels with K padded to a multiple of 8 by zeros:
 * - 'i16' layout: per pair of k steps 16 bytes, channel j at bytes 2j, 2j+1;
 * - 'u7' layout: per quad of k steps 32 bytes, channels 0-3 then 4-7, four
 *   bytes (k..k+3) each.
 * After the panels, per panel: 8 f32 channel scales, 8 i32 sums of the
 * channel's weights over K (the zero-point correction) and 8 f32 biases.
 *
 * Resident (packed once, kept in kernel memory) while the arena's
 * residentWeightBudget allows, as the float GEMM's panels (gemm-pack.ts);
 * else streamed: packed before each use into the arena's 'gemm' weight slot
 * (the float GEMM's: a layer uses one or the other), from values read
 * afresh (a constant streamed from its file: no copy is kept). Packing runs
 * on all threads (assembly/gemm-int8-pack.ts), W staged into kernel memory
 * a few panels at a time.
 */
import { UsageError } from '../../errors.js';
import type { WeightSlot } from './arena.js';
import type { KernelRuntime } from './runtime.js';

/** How activations are quantized per row at run time. */
export type ActivationQuantization = 'asymmetric' | 'symmetric';

/**
 * 'i16': int8 activations in [-128, 127] (stored as int16) and
 * i32x4.dot_i16x8_s, on both kernel variants. 'u7': activations in [0, 127]
 * (7 bits, the range the relaxed int8 dot product defines) and
 * i16x8.relaxed_dot_i8x16_i7x16_s, relaxed variant only.
 */
export type Int8Layout = 'i16' | 'u7';

export interface Int8Weights {
  /** Row n holds output channel n's K values: value = data[n·K + k] · scales[n] (or scales[0]). */
  data: Int8Array;
  scales: Float32Array;
  k: number;
  n: number;
  bias?: Float32Array;
}

/**
 * Int8 weights whose values are read when packed: `read()` returns them as
 * Int8Weights.data (for a constant streamed from its file, a fresh read
 * that may share its buffer with the model's next read: it is used at
 * once). Streamed packings keep only `read`, no values.
 */
export type Int8WeightReader = Omit<Int8Weights, 'data'> & { read: () => Int8Array };

export interface Int8GemmOptions {
  activations?: ActivationQuantization;
  /**
   * Bits per quantized activation with the 'i16' layout, 8 (default, as
   * TFLite's hybrid kernels) to 16: the int16 lanes hold more at no cost in
   * speed; limited so that 2^bits · 128 · K < 2^31 (no i32 overflow).
   * The 'u7' layout has 7.
   */
  activationBits?: number;
  /** Default: 'u7' on the relaxed variant, else 'i16'. */
  layout?: Int8Layout;
}

export interface PackedGemmInt8 {
  readonly k: number;
  readonly n: number;
  /** K padded to a multiple of 8. */
  readonly kp: number;
  readonly layout: Int8Layout;
  readonly activations: ActivationQuantization;
  readonly activationBits: number;
  /** Whether the weights are packed per use (into the arena's 'gemm' slot) rather than resident. */
  readonly streamed: boolean;
  /**
   * Byte offset of the panels: ceil(n / 8) · kp · 8 bytes. Streamed: reading
   * it packs the weights now, unless the slot still holds them (so read it
   * outside any kernel's arena mark/reset scope).
   */
  readonly ptr: number;
  /** Byte offset of the per-panel column data (96 bytes per panel); streamed: as `ptr`. */
  readonly colsPtr: number;
}

/** Most activation bits the 'i16' layout takes for depth K (2^bits · 128 · Kp < 2^31), at most 16. */
export function maxActivationBits(k: number): number {
  const kp = Math.ceil(k / 8) * 8;
  return Math.min(16, Math.ceil(Math.log2(2 ** 31 / (128 * kp))) - 1);
}

/** The range quantized activations take (see quantizeRowsInt8 in assembly/gemm-int8.ts). */
export function activationRange(p: Pick<PackedGemmInt8, 'layout' | 'activations' | 'activationBits'>): { qmin: number; qmax: number } {
  if (p.layout === 'u7') return { qmin: p.activations === 'symmetric' ? 1 : 0, qmax: 127 };
  const qmax = 2 ** (p.activationBits - 1) - 1;
  return { qmin: p.activations === 'symmetric' ? -qmax : -qmax - 1, qmax };
}

/**
 * Bytes of W staged in kernel memory per packing job: a few panels at a
 * time, so the kernel reads them from cache and the staging stays small.
 */
const STAGE_BYTES = 4 << 20;

/** Bytes of the panels of K x N weights. */
function panelsBytes(kp: number, n: number): number {
  return Math.ceil(n / 8) * kp * 8;
}

/** Bytes of a packing (panels and column data): what counts against the resident-weight budget. */
export function packedGemmInt8Bytes(k: number, n: number): number {
  const kp = Math.ceil(k / 8) * 8;
  return panelsBytes(kp, n) + Math.ceil(n / 8) * 96;
}

type Packing = Pick<PackedGemmInt8, 'k' | 'n' | 'kp' | 'layout' | 'activations' | 'activationBits'>;

function checkValues(p: Packing, data: Int8Array): void {
  if (!(data instanceof Int8Array)) throw new UsageError(`int8 GEMM weights: int8 values in a ${(data as object).constructor.name}`);
  if (data.length !== p.k * p.n) throw new UsageError(`int8 GEMM weights: ${data.length} elements for N=${p.n} x K=${p.k}`);
}

/** Copies `values` into kernel memory (at the arena's top) and returns their offset, 0 for none. */
function copyFloats(runtime: KernelRuntime, values: Float32Array | undefined): number {
  if (!values) return 0;
  const ptr = runtime.arena.alloc(values.length * 4, 64);
  runtime.arena.f32(ptr, values.length).set(values);
  return ptr;
}

/**
 * Packs `data` (checked) into panels at `out` and column data right after
 * them, with scales and bias already in kernel memory: W is staged above
 * the arena's top (freed again) a few panels at a time, each group packed
 * on all threads.
 */
function packInto(runtime: KernelRuntime, p: Packing, data: Int8Array, scalesPtr: number, perChannel: boolean, biasPtr: number, out: number): void {
  checkValues(p, data);
  const { arena } = runtime;
  const { k, n, kp } = p;
  const panels = Math.ceil(n / 8);
  const panelsPerJob = Math.max(1, Math.floor(STAGE_BYTES / (8 * k)));
  const cols = out + panelsBytes(kp, n);
  const mark = arena.top;
  try {
    const staging = arena.alloc(Math.min(n, panelsPerJob * 8) * k, 64);
    for (let first = 0; first < panels; first += panelsPerJob) {
      const last = Math.min(panels, first + panelsPerJob);
      const rows = data.subarray(first * 8 * k, Math.min(n, last * 8) * k);
      new Int8Array(arena.memory.buffer, staging, rows.length).set(rows);
      runtime.pool.run('packGemmInt8Panels', [
        staging, scalesPtr, perChannel ? 1 : 0, biasPtr, k, n, kp, p.layout === 'u7' ? 1 : 0, out, cols, first, last,
      ]);
    }
  } finally {
    arena.reset(mark);
  }
}

/**
 * Weights packed into the arena's 'gemm' slot each time a kernel asks for
 * `ptr`, unless the slot still holds them: between uses only the scales
 * and bias stay in kernel memory, and `read` (no values) in JavaScript.
 */
class StreamedGemmInt8 implements PackedGemmInt8 {
  readonly streamed = true;
  readonly k: number;
  readonly n: number;
  readonly kp: number;
  readonly layout: Int8Layout;
  readonly activations: ActivationQuantization;
  readonly activationBits: number;
  private readonly bytes: number;
  private readonly scalesPtr: number;
  private readonly perChannel: boolean;
  private readonly biasPtr: number;

  constructor(
    private readonly runtime: KernelRuntime,
    p: Packing,
    private readonly read: () => Int8Array,
    scales: Float32Array,
    bias: Float32Array | undefined,
  ) {
    ({ k: this.k, n: this.n, kp: this.kp, layout: this.layout, activations: this.activations, activationBits: this.activationBits } = p);
    this.bytes = packedGemmInt8Bytes(p.k, p.n);
    this.scalesPtr = copyFloats(runtime, scales);
    this.perChannel = scales.length > 1;
    this.biasPtr = copyFloats(runtime, bias);
    runtime.arena.planWeightSlot('gemm', this.bytes);
    runtime.arena.weightSlot(this.bytes, 'gemm'); // sized at prepare time, below any run-time scratch
  }

  get ptr(): number {
    return this.slot().ptr;
  }

  get colsPtr(): number {
    return this.slot().ptr + panelsBytes(this.kp, this.n);
  }

  private slot(): WeightSlot {
    const slot = this.runtime.arena.weightSlot(this.bytes, 'gemm');
    if (slot.holder !== this) {
      slot.holder = undefined; // half-written if the packing throws
      packInto(this.runtime, this, this.read(), this.scalesPtr, this.perChannel, this.biasPtr, slot.ptr);
      slot.holder = this;
    }
    return slot;
  }
}

/**
 * Packs int8 weights for gemmInt8: resident while the arena's
 * residentWeightBudget allows (counted against it), else streamed (packed
 * before each use into the 'gemm' weight slot).
 */
export function packGemmInt8Weights(runtime: KernelRuntime, w: Int8Weights | Int8WeightReader, options: Int8GemmOptions = {}): PackedGemmInt8 {
  const { k, n, scales, bias } = w;
  const layout = options.layout ?? (runtime.variant === 'relaxed' ? 'u7' : 'i16');
  const activations = options.activations ?? 'asymmetric';
  if (layout === 'u7' && runtime.variant !== 'relaxed') throw new UsageError("int8 GEMM: the 'u7' layout needs the relaxed-SIMD kernels");
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1) throw new UsageError(`int8 GEMM weights: bad shape K=${k}, N=${n}`);
  if (scales.length !== n && scales.length !== 1) throw new UsageError(`int8 GEMM weights: ${scales.length} scales for ${n} output channels (need ${n} or 1)`);
  if (bias && bias.length !== n) throw new UsageError(`int8 GEMM bias: ${bias.length} elements for N=${n}`);
  const kp = Math.ceil(k / 8) * 8;
  const activationBits = layout === 'u7' ? 7 : options.activationBits ?? 8;
  if (layout === 'u7' && options.activationBits !== undefined && options.activationBits !== 7) throw new UsageError("int8 GEMM: the 'u7' layout has 7-bit activations");
  if (!Number.isInteger(activationBits) || (layout === 'i16' && (activationBits < 8 || activationBits > 16)) || 2 ** activationBits * 128 * kp >= 2 ** 31) {
    throw new UsageError(`int8 GEMM: ${activationBits}-bit activations need 2^bits x 128 x K < 2^31 (K=${k}) and 8 to 16 bits`);
  }
  const packing: Packing = { k, n, kp, layout, activations, activationBits };
  const read = 'read' in w ? w.read : () => w.data;
  if ('data' in w) checkValues(packing, w.data);
  const { arena } = runtime;
  const bytes = packedGemmInt8Bytes(k, n);
  if (!arena.reserveResidentWeights(bytes)) return new StreamedGemmInt8(runtime, packing, read, scales, bias);
  const ptr = arena.alloc(bytes, 64);
  const mark = arena.top;
  try {
    packInto(runtime, packing, read(), copyFloats(runtime, scales), scales.length > 1, copyFloats(runtime, bias), ptr);
  } finally {
    arena.reset(mark);
  }
  return { ...packing, streamed: false, ptr, colsPtr: ptr + panelsBytes(kp, n) };
}
