/**
 * Everything a caller needs to run the WebAssembly kernels: the chosen
 * variant, one shared memory with its arena, the main thread's instance and a
 * worker pool of `threads` threads (main thread included) on that memory.
 */
import { availableParallelism } from 'node:os';
import { UsageError } from '../../errors.js';
import { WorkerPool } from '../threads/pool.js';
import { ARENA_BASE, WasmArena } from './arena.js';
import type { KernelExports } from './exports.js';
import {
  MAX_MEMORY_PAGES,
  chooseVariant,
  compileKernels,
  createSharedMemory,
  instantiateKernels,
  type KernelVariant,
} from './loader.js';

export interface KernelRuntimeOptions {
  /** Threads including the main thread; default: the machine's available parallelism. */
  threads?: number;
  /** 'auto' (default) takes relaxed SIMD when the engine supports it. */
  variant?: KernelVariant | 'auto';
  /** Memory limit in 64 KiB pages (default 65536 = 4 GiB). */
  maximumPages?: number;
}

/**
 * An i32 that threaded kernels share work through (Atomics on it): the last
 * 64 bytes below the arena, which the arena never hands out. The kernels'
 * own static data, if any, sits at the bottom of memory, far below it.
 */
export const JOB_COUNTER_PTR = ARENA_BASE - 64;

export interface KernelRuntime {
  readonly variant: KernelVariant;
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  readonly arena: WasmArena;
  /** The main thread's instance: for single-threaded calls. */
  readonly kernels: KernelExports;
  /** Runs a threaded kernel on all threads (see WorkerPool.run). */
  readonly pool: WorkerPool;
  /** Sets the shared work counter at JOB_COUNTER_PTR to 0 (before a job that uses it). */
  resetJobCounter(): void;
  close(): Promise<void>;
}

export async function createKernelRuntime(options: KernelRuntimeOptions = {}): Promise<KernelRuntime> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
  const maximumPages = options.maximumPages ?? MAX_MEMORY_PAGES;
  const variant = chooseVariant(options.variant ?? 'auto');
  // One compiled module, read once: the main thread's instance (its exports
  // checked against KernelExports) and every worker's come from it, so a
  // rebuild of build/wasm meanwhile cannot split the threads.
  const module = compileKernels(variant);
  const memory = createSharedMemory(16, maximumPages);
  const kernels = instantiateKernels(module, memory);
  const pool = await WorkerPool.create({
    module,
    memory,
    exports: kernels as unknown as Record<string, unknown>,
    threads,
  });
  return {
    variant,
    threads,
    memory,
    arena: new WasmArena(memory, maximumPages),
    kernels,
    pool,
    resetJobCounter: () => {
      new Int32Array(memory.buffer, JOB_COUNTER_PTR, 1)[0] = 0;
    },
    close: () => pool.close(),
  };
}
