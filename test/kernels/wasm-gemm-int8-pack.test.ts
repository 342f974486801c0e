// Packing int8 weights for the hybrid int8 GEMM in WebAssembly
// (assembly/gemm-int8-pack.ts): the bytes (panels and column data) equal a
// plain TypeScript packer's for both layouts, K and N on and off the tile
// sizes, per-channel and per-tensor scales, with and without bias, on 1-3
// threads; packed per use (streamed, past the resident-weight budget) they
// are the same bytes, packed again whenever another layer took the slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedGemmInt8Bytes, packGemmInt8Weights, type Int8Layout, type Int8Weights, type PackedGemmInt8 } from '../../src/kernels/wasm/gemm-int8-pack.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { createRuntimes, random, randomFloats, THREAD_COUNTS } from './wasm-kernel-harness.js';

/** The packing as documented in gemm-int8-pack.ts, one weight at a time: panels, then 96 bytes of column data per panel. */
function referencePack(w: Int8Weights, layout: Int8Layout): Uint8Array {
  const { k, n } = w;
  const kp = Math.ceil(k / 8) * 8;
  const panels = Math.ceil(n / 8);
  const out = new Uint8Array(panels * kp * 8 + panels * 96);
  const bytes = new Int8Array(out.buffer);
  const cols = new DataView(out.buffer, panels * kp * 8);
  for (let col = 0; col < n; col++) {
    const p = col >> 3, j = col & 7;
    let sum = 0;
    for (let kk = 0; kk < k; kk++) {
      const at = layout === 'i16' ? (kk >> 1) * 16 + j * 2 + (kk & 1) : (kk >> 2) * 32 + (j >> 2) * 16 + (j & 3) * 4 + (kk & 3);
      const v = w.data[col * k + kk]!;
      bytes[p * kp * 8 + at] = v;
      sum += v;
    }
    cols.setFloat32(p * 96 + 4 * j, w.scales[w.scales.length === 1 ? 0 : col]!, true);
    cols.setInt32(p * 96 + 32 + 4 * j, sum, true);
    cols.setFloat32(p * 96 + 64 + 4 * j, w.bias ? w.bias[col]! : 0, true);
  }
  return out;
}

/** The bytes of a packing as it sits in kernel memory (panels, then column data). */
function packedBytes(rt: KernelRuntime, p: PackedGemmInt8): Uint8Array {
  const panels = Math.ceil(p.n / 8) * p.kp * 8;
  const colsPtr = p.colsPtr; // a streamed packing packs here: read before taking views
  const ptr = p.ptr;
  const out = new Uint8Array(packedGemmInt8Bytes(p.k, p.n));
  out.set(new Uint8Array(rt.memory.buffer, ptr, panels));
  out.set(new Uint8Array(rt.memory.buffer, colsPtr, out.length - panels), panels);
  return out;
}

/** Index of the first byte where `got` and `want` differ, -1 when equal (toEqual is slow on megabytes). */
function firstDifference(got: Uint8Array, want: Uint8Array): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return i;
  return -1;
}

function randomWeights(k: number, n: number, seed: number, perChannel: boolean, bias: boolean): Int8Weights {
  const rnd = random(seed);
  return {
    k, n,
    data: Int8Array.from({ length: k * n }, () => Math.floor(rnd() * 256) - 128), // -128 too
    scales: Float32Array.from({ length: perChannel ? n : 1 }, () => 0.001 + 0.01 * rnd()),
    bias: bias ? randomFloats(n, rnd) : undefined,
  };
}

/** Runs `body` with the given resident-weight budget, the arena and its accounting restored after. */
function withBudget<T>(rt: KernelRuntime, budget: number, body: () => T): T {
  const arena = rt.arena;
  const [savedBudget, savedUsed, mark] = [arena.residentWeightBudget, arena.residentWeightBytes, arena.top];
  arena.residentWeightBudget = budget;
  arena.residentWeightBytes = 0;
  try {
    return body();
  } finally {
    arena.reset(mark);
    arena.residentWeightBudget = savedBudget;
    arena.residentWeightBytes = savedUsed;
  }
}

const KS = [1, 7, 8, 15, 16, 17, 33, 100, 1029];
const NS = [1, 7, 8, 9, 16, 23, 40];

describe('int8 GEMM weight packing in WebAssembly', () => {
  let runtimes: KernelRuntime[];
  beforeAll(async () => {
    runtimes = await createRuntimes('relaxed'); // takes both layouts
  });
  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
  });

  for (const layout of ['i16', 'u7'] as const) {
    it(`${layout}: the plain packer's bytes for K in ${KS.join(',')} x N in ${NS.join(',')} on ${THREAD_COUNTS.join(', ')} threads`, () => {
      let seed = 1;
      for (const k of KS) {
        for (const n of NS) {
          const w = randomWeights(k, n, seed, seed % 2 === 0, seed % 3 !== 0);
          seed++;
          const want = referencePack(w, layout);
          for (const rt of runtimes) {
            const got = withBudget(rt, Infinity, () => {
              const p = packGemmInt8Weights(rt, w, { layout });
              expect(p.streamed).toBe(false);
              return packedBytes(rt, p);
            });
            expect(got, `K=${k} N=${n} ${rt.threads} threads`).toEqual(want);
          }
        }
      }
    });

    it(`${layout}: a layer staged in several jobs (4.2 MB, last panel partial) packs the same bytes resident and streamed`, () => {
      const w = randomWeights(4100, 1030, 99, true, true);
      const want = referencePack(w, layout);
      const rt = runtimes[1]!;
      expect(firstDifference(withBudget(rt, Infinity, () => packedBytes(rt, packGemmInt8Weights(rt, w, { layout }))), want)).toBe(-1);
      expect(firstDifference(withBudget(rt, 0, () => packedBytes(rt, packGemmInt8Weights(rt, w, { layout }))), want)).toBe(-1);
    });
  }

  it('streamed past the budget: read and packed per use into the shared slot, again after another layer took it', () => {
    const rt = runtimes[1]!;
    withBudget(rt, packedGemmInt8Bytes(40, 16), () => {
      const [a, b, c] = [randomWeights(40, 16, 5, true, true), randomWeights(33, 9, 6, false, false), randomWeights(17, 23, 7, true, false)];
      const reads = { b: 0, c: 0 };
      const pa = packGemmInt8Weights(rt, a, { layout: 'i16' }); // fits the budget exactly
      const pb = packGemmInt8Weights(rt, { ...b, read: () => (reads.b++, b.data) }, { layout: 'i16' });
      const pc = packGemmInt8Weights(rt, { ...c, read: () => (reads.c++, c.data) }, { layout: 'u7' });
      expect([pa.streamed, pb.streamed, pc.streamed]).toEqual([false, true, true]);
      expect(rt.arena.residentWeightBytes).toBe(packedGemmInt8Bytes(40, 16));
      expect(reads).toEqual({ b: 0, c: 0 }); // nothing read before use
      expect(packedBytes(rt, pb)).toEqual(referencePack(b, 'i16'));
      expect(packedBytes(rt, pb)).toEqual(referencePack(b, 'i16'));
      expect(reads).toEqual({ b: 1, c: 0 }); // the slot still held b
      expect(packedBytes(rt, pc)).toEqual(referencePack(c, 'u7'));
      expect(pc.ptr).toBe(pb.ptr); // one slot
      expect(packedBytes(rt, pb)).toEqual(referencePack(b, 'i16'));
      expect(reads).toEqual({ b: 2, c: 1 });
      expect(packedBytes(rt, pa)).toEqual(referencePack(a, 'i16'));
    });
  });

  it('refuses values of the wrong length when they are read', () => {
    const rt = runtimes[0]!;
    const w = randomWeights(16, 8, 3, true, false);
    withBudget(rt, 0, () => {
      const p = packGemmInt8Weights(rt, { ...w, read: () => w.data.subarray(1) });
      expect(() => p.ptr).toThrow(/127 elements for N=8 x K=16/);
    });
    expect(() => packGemmInt8Weights(rt, { ...w, data: w.data.subarray(1) })).toThrow(/127 elements for N=8 x K=16/);
  });
});
