import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemm } from '../../src/kernels/wasm/gemm.js';
import { packGemmWeights } from '../../src/kernels/wasm/gemm-pack.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';

/** Packs a K x N = 4 x 8 identity-like B and returns its pointer set. */
function setUp(rt: KernelRuntime, m: number) {
  const k = 4;
  const n = 8;
  const data = new Float32Array(k * n);
  for (let i = 0; i < k; i++) data[i * n + i] = 1; // C[:, 0..3] = A, C[:, 4..7] = 0
  const b = packGemmWeights(rt.arena, { k, n, layout: 'kn', dtype: 'float32', data });
  const a = rt.arena.alloc(m * k * 4);
  const c = rt.arena.alloc(m * n * 4);
  return { b, a, c };
}

describe('worker pool', () => {
  let rt: KernelRuntime;
  beforeAll(async () => {
    rt = await createKernelRuntime({ threads: 2, variant: 'simd', maximumPages: 256 });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('runs many jobs back to back, each thread doing its share', () => {
    const m = 64;
    const { b, a, c } = setUp(rt, m);
    const av = rt.arena.f32(a, m * 4);
    const cv = rt.arena.f32(c, m * 8);
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < av.length; i++) av[i] = round * 1000 + i;
      cv.fill(NaN);
      gemm(rt, b, { a, c, m });
      // Rows 32..63 are thread 1's share: they are right only if the worker ran this round.
      for (let row = 0; row < m; row += 31) {
        expect(Array.from(cv.subarray(row * 8, row * 8 + 8))).toEqual([...av.subarray(row * 4, row * 4 + 4), 0, 0, 0, 0]);
      }
    }
  });

  it('reports a trap in a worker and stays usable', () => {
    const m = 64;
    const { b, c } = setUp(rt, m);
    // A placed so that thread 0's rows (0..31) are inside memory and thread 1's are not.
    const end = rt.memory.buffer.byteLength;
    const a = end - 40 * 16;
    expect(() => rt.pool.run('gemm', [a, 4, b.ptr, 0, c, 8, m, 8, 4])).toThrow(/failed in a worker: thread 1: RuntimeError/);
    const ok = setUp(rt, 8);
    rt.arena.f32(ok.a, 32).fill(3);
    gemm(rt, ok.b, { a: ok.a, c: ok.c, m: 8 });
    expect(rt.arena.f32(ok.c, 8)[0]).toBe(3);
  });

  it('rejects unknown kernels and bad thread counts', async () => {
    expect(() => rt.pool.run('noSuchKernel', [])).toThrow(/no kernel named noSuchKernel/);
    await expect(createKernelRuntime({ threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
  });
});
