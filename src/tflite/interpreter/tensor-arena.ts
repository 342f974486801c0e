/**
 * Where the activation arena lives: the one seam between the interpreter's
 * memory plan and the memory the kernels see. The default is a plain
 * ArrayBuffer; with the WebAssembly kernels, pass
 * `arena: () => new WasmMemoryArena(runtime.arena)` so activations live in
 * their shared WebAssembly.Memory and are addressable by pointer, no copies.
 *
 * Each subgraph executor reserves its own region after each memory plan and
 * asks for region() before every run: when the buffer changed (a new
 * region, or wasm memory growth replacing memory.buffer) it rebuilds its
 * tensor views.
 */
export interface TensorArena {
  /** Makes room for `bytes` bytes, 64-byte aligned; earlier contents need not survive. */
  reserve(bytes: number): void;
  /** The backing buffer and the byte offset where the reserved region starts. */
  region(): { buffer: ArrayBufferLike; byteOffset: number };
}

/** Creates one arena per subgraph executor (a composite's decomposition has its own). */
export type TensorArenaFactory = () => TensorArena;

export class ArrayBufferArena implements TensorArena {
  private buffer = new ArrayBuffer(0);

  reserve(bytes: number): void {
    if (bytes > this.buffer.byteLength) this.buffer = new ArrayBuffer(bytes);
  }

  region(): { buffer: ArrayBufferLike; byteOffset: number } {
    return { buffer: this.buffer, byteOffset: 0 };
  }
}

/** The subset of the kernels' WasmArena (src/kernels/wasm/arena.ts) an interpreter arena needs. */
export interface BumpAllocator {
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number, align?: number): number;
}

/**
 * Activations inside the kernels' WebAssembly.Memory, so fast kernels get
 * tensors as pointers (view.byteOffset). A bump allocator cannot free, so
 * a plan that outgrows its region takes a new one and the old bytes stay
 * unused until the allocator is reset; plans only grow when inputs are
 * resized to larger shapes.
 */
export class WasmMemoryArena implements TensorArena {
  private ptr = -1;
  private bytes = -1;

  constructor(private readonly allocator: BumpAllocator) {}

  reserve(bytes: number): void {
    if (bytes <= this.bytes) return;
    this.ptr = this.allocator.alloc(bytes, 64);
    this.bytes = bytes;
  }

  region(): { buffer: ArrayBufferLike; byteOffset: number } {
    if (this.ptr < 0) throw new Error('WasmMemoryArena: region() before reserve()');
    // memory.buffer is a new object after every grow, which makes executors rebuild their views.
    return { buffer: this.allocator.memory.buffer, byteOffset: this.ptr };
  }
}

/**
 * One region of kernel memory for the activations of several models that
 * never run at the same time (the pipeline's text encoder, UNet and
 * decoder): each model's plan starts at the same base and the biggest sets
 * the size, instead of one region per model side by side.
 *
 * The region is allocated lazily, at the first region() call after a
 * bigger reserve(): prepare every model for its shapes before running any
 * (as the pipeline's prepareComponents does) and the region is allocated
 * once, at the size of the biggest plan. A later, bigger plan takes a new
 * region at the allocator's top (the old one stays unused); executors bound
 * to the old one keep working on it until the memory's buffer changes.
 *
 * Sharing means that a model's tensors (its inputs and outputs included)
 * hold only until another model of the region runs: take outputs as copies.
 */
export class SharedActivationRegion {
  private ptr = -1;
  private bytes = 0;
  private needed = 0;

  constructor(private readonly allocator: BumpAllocator) {}

  /** Bytes of the region the next region() call hands out (the biggest plan reserved so far). */
  get reservedBytes(): number {
    return Math.max(this.needed, this.bytes);
  }

  /**
   * An arena factory for one model (pass as the interpreter's `arena`
   * option): its first arena, the first signature's executor, which
   * Interpreter.load creates first, is this region; later ones (other
   * signatures, and composite decompositions, which run while their
   * caller's tensors are live) get regions of their own.
   */
  factory(): TensorArenaFactory {
    let first = true;
    return () => {
      if (!first) return new WasmMemoryArena(this.allocator);
      first = false;
      return { reserve: (bytes) => this.reserve(bytes), region: () => this.region() };
    };
  }

  private reserve(bytes: number): void {
    this.needed = Math.max(this.needed, bytes);
  }

  private region(): { buffer: ArrayBufferLike; byteOffset: number } {
    if (this.needed > this.bytes || this.ptr < 0) {
      this.ptr = this.allocator.alloc(Math.max(this.needed, 1), 64);
      this.bytes = this.needed;
    }
    return { buffer: this.allocator.memory.buffer, byteOffset: this.ptr };
  }
}
