/**
 * A bump allocator over the kernels' shared WebAssembly.Memory. The engine
 * plans its memory statically, so it only needs `alloc` and `reset` back to a
 * mark: there is no per-block free. The memory grows on demand up to its
 * maximum. Offsets are byte offsets that the kernels take as pointers.
 */
import { UsageError } from '../../errors.js';
import { MAX_MEMORY_PAGES, PAGE_BYTES } from './loader.js';

/** The first 64 KiB stay unused, so pointer 0 is never a valid allocation. */
export const ARENA_BASE = 65536;

/** Default for WasmArena.residentWeightBudget. */
export const DEFAULT_RESIDENT_WEIGHT_BYTES = 256 * 1024 * 1024;

/**
 * Kinds of streamed weights, each with its own slot so that one layer may
 * hold several at once: 'gemm' for GEMM panels (gemm-pack.ts), 'winograd'
 * for transformed 3x3 filters with their raw staging (winograd-pack.ts).
 */
export type WeightSlotKind = 'gemm' | 'winograd';

/** A region the streamed weights of one layer are packed into just before it runs (see gemm-pack.ts). */
export interface WeightSlot {
  readonly ptr: number;
  readonly bytes: number;
  /** What the slot holds now, so consecutive calls with the same weights pack once. */
  holder: object | undefined;
}

export class WasmArena {
  private end: number;
  private readonly slots = new Map<WeightSlotKind, WeightSlot>();
  /** Largest size planned per kind (planWeightSlot): what the slot is allocated with. */
  private readonly planned = new Map<WeightSlotKind, number>();
  /**
   * Packed weights kept in this memory for good, at most this many bytes in
   * all; weights past it are streamed: packed into a shared slot (one per
   * WeightSlotKind) before each use (gemm-pack.ts, winograd-pack.ts). Memory cannot shrink and is limited to 4 GiB,
   * so big models stream most of their weights.
   */
  residentWeightBudget = DEFAULT_RESIDENT_WEIGHT_BYTES;
  /** Bytes of resident packed weights allocated so far. */
  residentWeightBytes = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly maximumPages: number = MAX_MEMORY_PAGES,
    readonly base: number = ARENA_BASE,
  ) {
    this.end = base;
  }

  /**
   * Counts `bytes` of resident packed weights against residentWeightBudget
   * if they fit, and says whether they did (callers that get false stream
   * the weights or pack them another way).
   */
  reserveResidentWeights(bytes: number): boolean {
    if (this.residentWeightBytes + bytes > this.residentWeightBudget) return false;
    this.residentWeightBytes += bytes;
    return true;
  }

  /** The current end of the allocations: pass it to `reset` to free later ones. */
  get top(): number {
    return this.end;
  }

  /** Reserves `bytes` bytes aligned to `align` (a power of two) and returns their offset. */
  alloc(bytes: number, align = 64): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new UsageError(`arena: cannot allocate ${bytes} bytes`);
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new UsageError(`arena: alignment ${align} is not a power of two`);
    }
    const start = Math.ceil(this.end / align) * align;
    const end = start + bytes;
    this.ensureCapacity(end);
    this.end = end;
    return start;
  }

  /** Frees every allocation made after `top` was read (default: all). */
  reset(top: number = this.base): void {
    if (!(top >= this.base && top <= this.end)) {
      throw new UsageError(`arena: reset to ${top} outside [${this.base}, ${this.end}]`);
    }
    this.end = top;
    for (const [kind, slot] of this.slots) if (slot.ptr + slot.bytes > top) this.slots.delete(kind);
  }

  /**
   * Records (at prepare time) that a layer will need the `kind` slot with
   * `bytes` bytes, without allocating it: weightSlot then allocates the
   * largest size planned at once, instead of growing it layer by layer and
   * leaving each smaller slot behind.
   */
  planWeightSlot(kind: WeightSlotKind, bytes: number): void {
    this.planned.set(kind, Math.max(bytes, this.planned.get(kind) ?? 0));
  }

  /**
   * The streamed-weights slot of `kind`, at least `bytes` long (and as long
   * as planned): a bigger request replaces it (the old one stays allocated
   * until a reset below it). Allocate it outside any kernel's mark/reset
   * scope, or that reset frees it again.
   */
  weightSlot(bytes: number, kind: WeightSlotKind = 'gemm'): WeightSlot {
    let slot = this.slots.get(kind);
    if (!slot || slot.bytes < bytes) {
      const size = Math.max(bytes, this.planned.get(kind) ?? 0);
      slot = { ptr: this.alloc(size, 64), bytes: size, holder: undefined };
      this.slots.set(kind, slot);
    }
    return slot;
  }

  /** A Float32Array view of `length` floats at byte offset `ptr`. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  private ensureCapacity(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE_BYTES);
    if (have / PAGE_BYTES + pages > this.maximumPages) {
      throw new UsageError(
        `arena: ${end} bytes exceed the kernel memory maximum of ${this.maximumPages * PAGE_BYTES} bytes`,
      );
    }
    this.memory.grow(pages);
  }
}
