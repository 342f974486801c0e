/**
 * The machine's WebAssembly SIMD multiply-add peak, measured in the same run
 * as the kernels, on every thread at once: the better of two loops.
 *
 * - Memory form: assembly/peak.ts (8 multiply-add chains, operands loaded
 *   from L1 as in a GEMM micro-kernel), run by the kernels' worker pool.
 * - Register chains (peak-chains.ts): 12 chains a = a·y + x in registers,
 *   with no loads at all.
 *
 * Measured here (GFLOP per CPU-second per thread, one and two threads, the
 * machine shared): relaxed SIMD, memory form 47-49, register chains 57-58,
 * the same 12 chains in native code (gcc, xmm FMA) 58.5; plain SIMD, memory
 * form 44-46, register chains 46-47, native mul+add (24 chains) 50.5. The
 * memory form's 8 chains cannot hide the multiply-add latency at two per
 * cycle, and 12 chains with loads spill in V8 (or, with relaxed SIMD, pay
 * an address add per splat), so it under-measured the peak by about 17%
 * with relaxed SIMD. The GEMM's 6x8 tile reaches 50-54.
 */
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { time } from './measure.js';
import { measureChainPeak } from './peak-chains.js';

/** 16 KiB per thread: well inside L1. */
const BUFFER_FLOATS = 4096;
const SWEEPS = 2000;

export interface Peak {
  /** GFLOP/s of all the runtime's threads together (wall time). */
  gflops: number;
  /** GFLOP per process CPU-second: the per-core peak when each thread has a core. */
  gflopsPerCpuSecond: number;
  /** Which loop gave it (the one with more GFLOP per CPU-second). */
  loop: 'memory' | 'register chains';
}

/** assembly/peak.ts on every thread of the runtime's pool. */
function measureMemoryPeak(rt: KernelRuntime, maxTimeSeconds: number): Peak {
  const mark = rt.arena.top;
  const buf = rt.arena.alloc(rt.threads * BUFFER_FLOATS * 4);
  rt.arena.f32(buf, rt.threads * BUFFER_FLOATS).fill(1e-3);
  const flops = rt.threads * SWEEPS * (BUFFER_FLOATS / 8) * 64;
  const t = time(`peak x${rt.threads}`, () => rt.pool.run('simdPeakParallel', [buf, BUFFER_FLOATS, SWEEPS]), maxTimeSeconds);
  rt.arena.reset(mark);
  return { gflops: flops / t.medianMs / 1e6, gflopsPerCpuSecond: flops / t.cpuMs / 1e6, loop: 'memory' };
}

export function measurePeak(rt: KernelRuntime, maxTimeSeconds: number): Peak {
  const memory = measureMemoryPeak(rt, maxTimeSeconds / 2);
  const chains = { ...measureChainPeak(rt.variant, rt.threads, maxTimeSeconds / 2), loop: 'register chains' as const };
  return chains.gflopsPerCpuSecond > memory.gflopsPerCpuSecond ? chains : memory;
}
