/**
 * Where the activation arena lives: the one seam between the interpreter's
 * memory plan and the memory the kernels see. The default is a plain
 * ArrayBuffer; the WebAssembly kernels will pass an arena over their shared
 * WebAssembly.Memory (WasmArena.alloc gives the byte offset), so tensors are
 * addressable by pointer with no copies.
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
