import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';

const FLOATS = 32; // per thread's buffer in simdPeakParallel

/** simdPeak's exact result for a buffer of small integers (see wasm-loader.test.ts). */
function peakSum(data: Float32Array, sweeps: number): number {
  let perSweep = 0;
  for (let p = 0; p < data.length; p += 8) {
    let ys = 0;
    let xs = 0;
    for (let j = 0; j < 4; j++) ys += data[p + j]!;
    for (let j = 0; j < 8; j++) xs += data[p + j]!;
    perSweep += ys * xs;
  }
  return sweeps * perSweep;
}

describe('worker pool', () => {
  let rt: KernelRuntime;
  beforeAll(async () => {
    rt = await createKernelRuntime({ threads: 2, variant: 'simd', maximumPages: 256 });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('runs many jobs back to back, every thread doing its part each time', () => {
    const buf = rt.arena.alloc(2 * FLOATS * 4);
    const view = rt.arena.f32(buf, 2 * FLOATS);
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < view.length; i++) view[i] = (i * 3 + round) % 7;
      const expected = [peakSum(view.slice(0, FLOATS), 2), peakSum(view.slice(FLOATS), 2)];
      rt.pool.run('simdPeakParallel', [buf, FLOATS, 2]);
      // Each thread stores its sum over the first float of its own buffer.
      expect([view[0], view[FLOATS]]).toEqual(expected);
    }
  });

  it('reports a trap in a worker and stays usable', () => {
    // Thread 0's buffer ends at the end of memory; thread 1's lies past it.
    const end = rt.memory.buffer.byteLength;
    const buf = end - FLOATS * 4;
    expect(() => rt.pool.run('simdPeakParallel', [buf, FLOATS, 1])).toThrow(
      /kernel simdPeakParallel failed in a worker: thread 1: RuntimeError: memory access out of bounds/,
    );
    const ok = rt.arena.alloc(2 * FLOATS * 4);
    rt.arena.f32(ok, 2 * FLOATS).fill(1);
    rt.pool.run('simdPeakParallel', [ok, FLOATS, 1]);
    expect(rt.arena.f32(ok + FLOATS * 4, 1)[0]).toBe(4 * 8 * (FLOATS / 8));
  });

  it('rejects unknown kernels and bad thread counts', async () => {
    expect(() => rt.pool.run('noSuchKernel', [])).toThrow(/no kernel named noSuchKernel/);
    await expect(createKernelRuntime({ threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
  });
});
