/**
 * Shared set-up for the WebAssembly kernel tests: runtimes of both variants
 * at 1, 2 and 3 threads, seeded random data, copying tensors in and out of
 * the kernels' memory, and the error measure the tests bound.
 */
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { enableRelaxedSimd, type KernelVariant } from '../../src/kernels/wasm/loader.js';

// Lets the test process also compile the relaxed-SIMD variant (plain Node 20
// needs --experimental-wasm-relaxed-simd for it).
enableRelaxedSimd();

export const VARIANTS: KernelVariant[] = ['simd', 'relaxed'];
export const THREAD_COUNTS = [1, 2, 3];

/** One runtime per thread count in THREAD_COUNTS. */
export async function createRuntimes(variant: KernelVariant): Promise<KernelRuntime[]> {
  const runtimes: KernelRuntime[] = [];
  for (const threads of THREAD_COUNTS) runtimes.push(await createKernelRuntime({ threads, variant, maximumPages: 2048 }));
  return runtimes;
}

export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Uniform floats in [lo, hi). */
export function randomFloats(n: number, rnd: () => number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rnd());
}

/** Copies `data` into freshly allocated kernel memory; returns its byte offset. */
export function put(rt: KernelRuntime, data: Float32Array): number {
  const ptr = rt.arena.alloc(Math.max(1, data.length) * 4);
  rt.arena.f32(ptr, data.length).set(data);
  return ptr;
}

/** Allocates `n` floats filled with `fill`; returns the byte offset. */
export function alloc(rt: KernelRuntime, n: number, fill = NaN): number {
  const ptr = rt.arena.alloc(Math.max(1, n) * 4);
  rt.arena.f32(ptr, n).fill(fill);
  return ptr;
}

/** Runs `body` with the arena reset afterwards; returns a copy of the floats it names. */
export function withArena(rt: KernelRuntime, body: () => { ptr: number; length: number }): Float32Array {
  const mark = rt.arena.top;
  try {
    const { ptr, length } = body();
    return rt.arena.f32(ptr, length).slice();
  } finally {
    rt.arena.reset(mark);
  }
}

/** max |got - want| / max |want| over elements where want is finite; NaN where want is NaN must be NaN. */
export function relativeToMaxError(got: Float32Array, want: Float32Array): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let maxRef = 0;
  for (const w of want) if (Number.isFinite(w)) maxRef = Math.max(maxRef, Math.abs(w));
  let maxErr = 0;
  for (let i = 0; i < got.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w)) {
      if (!Number.isNaN(g)) return Infinity;
      continue;
    }
    if (!Number.isFinite(w)) {
      if (g !== w) return Infinity;
      continue;
    }
    maxErr = Math.max(maxErr, Math.abs(g - w));
  }
  return maxRef === 0 ? maxErr : maxErr / maxRef;
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
