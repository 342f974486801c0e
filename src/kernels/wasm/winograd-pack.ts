/**
 * Weights of the Winograd F(4x4, 3x3) kernel (assembly/winograd.ts): the
 * filter transformed, U = G g Gᵀ per (output, input) channel, by the
 * threaded WebAssembly kernel assembly/winograd-pack.ts (float64 math, each
 * value rounded once to float32), stored as 36 GEMM right-hand sides (one
 * per transform position xi = 6i + j), each as panels of 8 output channels x
 * Cin rows of 8 floats, zero-padded past Cout (the layout of gemm-pack.ts).
 * U is 4x the size of the fp32 3x3 filter (36 values per 9).
 *
 * Resident (transformed once, kept in kernel memory) or streamed:
 * transformed before each use into the arena's 'winograd' slot, from the
 * raw filter (float32, float16 bits or int8 + scales) copied into the slot
 * with one TypedArray.set, one range of output channels at a time when
 * its U would pass WINOGRAD_CHUNK_BYTES. The caller chooses
 * (ops/wasm/conv-2d.ts counts resident filters against the arena's
 * resident-weight budget).
 */
import { UsageError } from '../../errors.js';
import type { WasmArena } from './arena.js';
import type { GemmWeightData, GemmWeights } from './gemm-pack.js';
import type { KernelRuntime } from './runtime.js';

/** An OHWI [cout, 3, 3, cin] filter as stored; `source` reads it again (a streamed constant), so nothing is kept. */
export type WinogradFilter = GemmWeightData & Pick<GemmWeights, 'source'>;

/** A range of output channels of a packed filter, transformed and ready for the kernel. */
export interface WinogradChunk {
  /** First output channel of the range. */
  readonly c0: number;
  /** Output channels in the range. */
  readonly cout: number;
  /** Byte offset of the range's 36 x ceil(cout / 8) panels of cin x 8 floats. */
  readonly ptr: number;
  /** Byte offset of the range's cout bias floats, or 0. */
  readonly biasPtr: number;
}

export interface PackedWinograd {
  readonly cin: number;
  readonly cout: number;
  /** Byte offset of cout bias floats, or 0. */
  readonly biasPtr: number;
  /** Whether the filter is transformed per use (not resident). */
  readonly streamed: boolean;
  /** Output-channel ranges the filter is used in: 1, or more for a streamed filter whose U passes the chunk size. */
  readonly chunks: number;
  /** Range `i`; a streamed filter transforms it now into the arena's 'winograd' slot, unless the slot still holds it. */
  chunk(i: number): WinogradChunk;
}

export type WinogradPlacement = 'resident' | 'streamed';

/** Encoding codes of the assembly kernel. */
const DTYPE_CODE = { float32: 0, float16: 1, int8: 2 } as const;

/** Bytes of the transformed filter (what counts against the arena's resident-weight budget). */
export function winogradFilterBytes(cin: number, cout: number): number {
  return 36 * Math.ceil(cout / 8) * cin * 32;
}

/**
 * Largest U a streamed filter transforms at once (default): a wider filter
 * is transformed and used in ranges of output channels, so the slot holds
 * one range's U (besides the whole raw filter) instead of all of it, 4x the
 * fp32 filter (472 MB for SD's 2560->1280 convolutions).
 */
export const WINOGRAD_CHUNK_BYTES = 64 << 20;

/** Output channels per range: a multiple of 64 (the kernel's channel group) whose U fits chunkBytes, at least 64. */
export function winogradChunkChannels(cin: number, cout: number, chunkBytes = WINOGRAD_CHUNK_BYTES): number {
  const fit = Math.floor(chunkBytes / (36 * cin * 4) / 64) * 64;
  return Math.min(cout, Math.max(64, fit));
}

const ELEMENT_BYTES = { float32: 4, float16: 2, int8: 1 } as const;

function rawBytes(filter: WinogradFilter, elements: number): number {
  return elements * ELEMENT_BYTES[filter.dtype];
}

function checkFilter(filter: WinogradFilter, data: WinogradFilter['data'], cin: number, cout: number): void {
  if (data.length !== cout * 9 * cin) {
    throw new UsageError(`Winograd filter: ${data.length} elements for [${cout}, 3, 3, ${cin}]`);
  }
  if (filter.dtype === 'int8' && filter.scales.length !== cout && filter.scales.length !== 1) {
    throw new UsageError(`Winograd int8 filter: ${filter.scales.length} scales for ${cout} output channels (need ${cout} or 1)`);
  }
}

function copyFloats(arena: WasmArena, values: Float32Array): number {
  const ptr = arena.alloc(values.length * 4);
  arena.f32(ptr, values.length).set(values);
  return ptr;
}

/** Copies `data` to `ptr` in kernel memory as the same element type. */
function stage(arena: WasmArena, ptr: number, data: WinogradFilter['data']): void {
  const { buffer } = arena.memory;
  if (data instanceof Float32Array) new Float32Array(buffer, ptr, data.length).set(data);
  else if (data instanceof Uint16Array) new Uint16Array(buffer, ptr, data.length).set(data);
  else new Int8Array(buffer, ptr, data.length).set(data);
}

/** Runs the transform of the filter staged at `src` into `u` on all threads. */
function transform(runtime: KernelRuntime, dtype: WinogradFilter['dtype'], src: number, scalesPtr: number, scaleCount: number, cin: number, cout: number, u: number): void {
  const arena = runtime.arena;
  const stride = Math.ceil(runtime.kernels.winogradPackScratchBytes() / 64) * 64;
  const mark = arena.top;
  try {
    const scratch = arena.alloc(stride * runtime.threads);
    runtime.pool.run('winogradPackFilter', [src, DTYPE_CODE[dtype], scalesPtr, scaleCount > 1 ? 1 : 0, cin, cout, u, scratch, stride]);
  } finally {
    arena.reset(mark);
  }
}

/**
 * A filter transformed into the arena's 'winograd' slot for each use. The
 * slot holds the raw filter (staged with one TypedArray.set, after the U
 * area) and the U of one range of output channels: chunk(i) stages the
 * filter unless the slot still holds it and transforms range i unless it is
 * the one in place. With `source` (a streamed constant) no copy of the
 * values is kept between uses.
 */
class StreamedWinograd implements PackedWinograd {
  readonly streamed = true;
  readonly chunks: number;
  private readonly chunkCout: number;
  private readonly uBytes: number;
  private readonly slotBytes: number;
  private readonly scalesPtr: number;
  /** The range whose U is in the slot while the slot's holder is this. */
  private held = -1;

  constructor(
    private readonly runtime: KernelRuntime,
    readonly cin: number,
    readonly cout: number,
    private readonly filter: WinogradFilter,
    readonly biasPtr: number,
    chunkBytes: number,
  ) {
    this.chunkCout = winogradChunkChannels(cin, cout, chunkBytes);
    this.chunks = Math.ceil(cout / this.chunkCout);
    this.uBytes = Math.ceil(winogradFilterBytes(cin, this.chunkCout) / 64) * 64;
    this.slotBytes = this.uBytes + rawBytes(filter, cout * 9 * cin);
    this.scalesPtr = filter.dtype === 'int8' ? copyFloats(runtime.arena, filter.scales) : 0;
    if (filter.source) this.filter = { ...filter, data: undefined as never }; // read afresh per use
    runtime.arena.planWeightSlot('winograd', this.slotBytes);
  }

  chunk(i: number): WinogradChunk {
    if (!(Number.isInteger(i) && i >= 0 && i < this.chunks)) throw new UsageError(`Winograd filter: no chunk ${i} of ${this.chunks}`);
    const arena = this.runtime.arena;
    const slot = arena.weightSlot(this.slotBytes, 'winograd');
    const staging = slot.ptr + this.uBytes;
    const f = this.filter;
    if (slot.holder !== this) {
      const data = f.source ? f.source() : f.data;
      checkFilter(f, data, this.cin, this.cout);
      slot.holder = undefined; // half-written if staging throws
      stage(arena, staging, data);
      slot.holder = this;
      this.held = -1;
    }
    const c0 = i * this.chunkCout;
    const cout = Math.min(this.chunkCout, this.cout - c0);
    if (this.held !== i) {
      this.held = -1; // half-written if the transform throws
      const perChannel = f.dtype === 'int8' && f.scales.length > 1;
      const src = staging + rawBytes(f, c0 * 9 * this.cin);
      const scales = this.scalesPtr + (perChannel ? c0 * 4 : 0);
      transform(this.runtime, f.dtype, src, scales, f.dtype === 'int8' ? f.scales.length : 0, this.cin, cout, slot.ptr);
      this.held = i;
    }
    return { c0, cout, ptr: slot.ptr, biasPtr: this.biasPtr ? this.biasPtr + c0 * 4 : 0 };
  }
}

/** A filter transformed once, kept in the arena. */
class ResidentWinograd implements PackedWinograd {
  readonly streamed = false;
  readonly chunks = 1;

  constructor(readonly cin: number, readonly cout: number, private readonly ptr: number, readonly biasPtr: number) {}

  chunk(i: number): WinogradChunk {
    if (i !== 0) throw new UsageError(`Winograd filter: no chunk ${i} of 1`);
    return { c0: 0, cout: this.cout, ptr: this.ptr, biasPtr: this.biasPtr };
  }
}

/**
 * Packs an OHWI [cout, 3, 3, cin] filter and its bias for winogradConv3x3,
 * transformed now ('resident') or per use ('streamed', in ranges of
 * output channels whose U fits `chunkBytes`).
 */
export function packWinogradWeights(
  runtime: KernelRuntime,
  { cin, cout, filter, bias }: { cin: number; cout: number; filter: WinogradFilter; bias?: Float32Array },
  placement: WinogradPlacement,
  chunkBytes = WINOGRAD_CHUNK_BYTES,
): PackedWinograd {
  if (!Number.isInteger(cin) || !Number.isInteger(cout) || cin < 1 || cout < 1) {
    throw new UsageError(`Winograd weights: bad channel counts cin=${cin}, cout=${cout}`);
  }
  if (bias && bias.length !== cout) throw new UsageError(`Winograd bias: ${bias.length} elements for ${cout} output channels`);
  if (!filter.source) checkFilter(filter, filter.data, cin, cout);
  const arena = runtime.arena;
  const biasPtr = bias ? copyFloats(arena, bias) : 0;
  if (placement === 'streamed') return new StreamedWinograd(runtime, cin, cout, filter, biasPtr, chunkBytes);

  const ptr = arena.alloc(winogradFilterBytes(cin, cout));
  const mark = arena.top;
  try {
    const data = filter.source ? filter.source() : filter.data;
    checkFilter(filter, data, cin, cout);
    const staging = arena.alloc(rawBytes(filter, data.length));
    stage(arena, staging, data);
    const scalesPtr = filter.dtype === 'int8' ? copyFloats(arena, filter.scales) : 0;
    transform(runtime, filter.dtype, staging, scalesPtr, filter.dtype === 'int8' ? filter.scales.length : 0, cin, cout, ptr);
  } finally {
    arena.reset(mark);
  }
  return new ResidentWinograd(cin, cout, ptr, biasPtr);
}
