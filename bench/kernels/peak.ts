/**
 * The machine's WebAssembly SIMD multiply-add peak, measured in the same run
 * as the kernels: assembly/peak.ts on every thread, operands in L1.
 */
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { time } from './measure.js';

/** 16 KiB per thread: well inside L1. */
const BUFFER_FLOATS = 4096;
const SWEEPS = 2000;

export interface Peak {
  /** GFLOP/s of all the runtime's threads together (wall time). */
  gflops: number;
  /** GFLOP per process CPU-second: the per-core peak when each thread has a core. */
  gflopsPerCpuSecond: number;
}

export function measurePeak(rt: KernelRuntime, maxTimeSeconds: number): Peak {
  const mark = rt.arena.top;
  const buf = rt.arena.alloc(rt.threads * BUFFER_FLOATS * 4);
  rt.arena.f32(buf, rt.threads * BUFFER_FLOATS).fill(1e-3);
  const flops = rt.threads * SWEEPS * (BUFFER_FLOATS / 8) * 64;
  const t = time(`peak x${rt.threads}`, () => rt.pool.run('simdPeakParallel', [buf, BUFFER_FLOATS, SWEEPS]), maxTimeSeconds);
  rt.arena.reset(mark);
  return { gflops: flops / t.medianMs / 1e6, gflopsPerCpuSecond: flops / t.cpuMs / 1e6 };
}
