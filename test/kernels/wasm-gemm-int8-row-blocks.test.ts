// The hybrid int8 GEMM quantizes and multiplies a big A a block of rows at a
// time (its scratch bounded by QUANTIZED_BLOCK_BYTES): any block size gives
// the bits of the plain reference, streamed weights included (packed once
// for all the blocks).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemmInt8 } from '../../src/kernels/wasm/gemm-int8.js';
import { packGemmInt8Weights, type Int8Weights } from '../../src/kernels/wasm/gemm-int8-pack.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { referenceInt8 } from './gemm-int8-reference.js';
import { put, random, randomFloats } from './wasm-kernel-harness.js';

describe('hybrid int8 GEMM in blocks of rows', () => {
  let rt: KernelRuntime;
  beforeAll(async () => {
    rt = await createKernelRuntime({ threads: 2, variant: 'relaxed', maximumPages: 256 });
  });
  afterAll(async () => {
    await rt?.close();
  });

  const [m, k, n, lda, ldc] = [301, 37, 21, 40, 24];
  const rnd = random(17);
  const w: Int8Weights = {
    k, n,
    data: Int8Array.from({ length: k * n }, () => Math.floor(rnd() * 256) - 128),
    scales: Float32Array.from({ length: n }, () => 0.001 + 0.01 * rnd()),
    bias: randomFloats(n, rnd),
  };
  const a = randomFloats(m * lda, rnd);

  for (const layout of ['i16', 'u7'] as const) {
    it(`${layout}: blocks of 1, 7, 128 and all rows, resident and streamed weights, equal the reference bit for bit`, () => {
      const quantization = { layout, activations: 'asymmetric' as const, activationBits: layout === 'u7' ? 7 : 12 };
      const want = referenceInt8(a, lda, m, w, quantization, [-0.5, 0.5]);
      const rowBytes = Math.ceil(k / 8) * 8 * (layout === 'u7' ? 1 : 2);
      const arena = rt.arena;
      const [savedBudget, mark] = [arena.residentWeightBudget, arena.top];
      try {
        for (const budget of [Infinity, 0]) {
          arena.residentWeightBudget = budget;
          const packed = packGemmInt8Weights(rt, w, quantization);
          expect(packed.streamed).toBe(budget === 0);
          for (const rows of [1, 7, 128, m]) {
            const aPtr = put(rt, a);
            const cPtr = put(rt, new Float32Array(m * ldc).fill(NaN));
            gemmInt8(rt, packed, { a: aPtr, c: cPtr, m, lda, ldc, clamp: { min: -0.5, max: 0.5 } }, rows * rowBytes);
            const full = rt.arena.f32(cPtr, m * ldc);
            const got = new Float32Array(m * n);
            for (let r = 0; r < m; r++) got.set(full.subarray(r * ldc, r * ldc + n), r * n);
            expect(got, `${rows} rows per block, budget ${budget}`).toEqual(want);
          }
        }
      } finally {
        arena.reset(mark);
        arena.residentWeightBudget = savedBudget;
      }
    });
  }
});
