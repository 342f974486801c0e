import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemmInt8 } from '../../src/kernels/wasm/gemm-int8.js';
import { packGemmInt8Weights, type Int8Layout, type Int8Weights } from '../../src/kernels/wasm/gemm-int8-pack.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { referenceInt8, type Quantization } from './gemm-int8-reference.js';
import { createRuntimes, put, random, randomFloats, sameBits, THREAD_COUNTS } from './wasm-kernel-harness.js';

/** C = A · dequant(W)ᵀ + bias in double precision (the weight-only int8 result). */
function floatGemm(a: Float32Array, lda: number, m: number, w: Int8Weights): Float64Array {
  const { k, n } = w;
  const c = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    for (let col = 0; col < n; col++) {
      const ws = w.scales[w.scales.length === 1 ? 0 : col]!;
      let acc = w.bias ? w.bias[col]! : 0;
      for (let i = 0; i < k; i++) acc += a[r * lda + i]! * w.data[col * k + i]! * ws;
      c[r * n + col] = acc;
    }
  }
  return c;
}

function relativeL2(got: Float32Array, want: Float64Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < got.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

function randomWeights(k: number, n: number, rnd: () => number, perChannel: boolean, bias: boolean): Int8Weights {
  return {
    k, n,
    data: Int8Array.from({ length: k * n }, () => Math.round(rnd() * 254) - 127),
    scales: Float32Array.from({ length: perChannel ? n : 1 }, () => 0.001 + 0.01 * rnd()),
    bias: bias ? randomFloats(n, rnd) : undefined,
  };
}

interface Case { m: number; n: number; k: number; perChannel: boolean; bias: boolean; lda?: number; ldc?: number; clamp?: [number, number] }

const CASES: Case[] = [
  { m: 1, n: 1, k: 1, perChannel: true, bias: false },
  { m: 5, n: 13, k: 7, perChannel: true, bias: true },
  { m: 3, n: 9, k: 17, perChannel: false, bias: true, clamp: [0, Infinity] },
  { m: 37, n: 19, k: 33, perChannel: true, bias: true, lda: 40, ldc: 23 },
  { m: 130, n: 17, k: 100, perChannel: true, bias: false, clamp: [-0.5, 0.5] },
  { m: 6, n: 10, k: 1029, perChannel: true, bias: true },
];

const name = (c: Case) => `M=${c.m} N=${c.n} K=${c.k}${c.lda ? ` lda=${c.lda} ldc=${c.ldc}` : ''}${c.clamp ? ` clamp` : ''}`;

/** Runs the kernel; rows of A are shifted so some rows are all positive, some straddle 0, one is all zero. */
function run(rt: KernelRuntime, c: Case, seed: number, packing: Quantization) {
  const rnd = random(seed);
  const lda = c.lda ?? c.k, ldc = c.ldc ?? c.n;
  const a = randomFloats(c.m * lda, rnd);
  for (let r = 0; r < c.m; r++) {
    const shift = r % 3 === 1 ? 1.5 : r % 3 === 2 ? -0.3 : 0;
    for (let i = 0; i < c.k; i++) a[r * lda + i] = r === 2 ? 0 : a[r * lda + i]! * (1 + r % 5) + shift;
  }
  const w = randomWeights(c.k, c.n, rnd, c.perChannel, c.bias);
  const mark = rt.arena.top;
  try {
    const packed = packGemmInt8Weights(rt, w, packing);
    const aPtr = put(rt, a);
    const cPtr = put(rt, new Float32Array(c.m * ldc).fill(NaN));
    gemmInt8(rt, packed, { a: aPtr, c: cPtr, m: c.m, lda, ldc, clamp: c.clamp && { min: c.clamp[0], max: c.clamp[1] } });
    const full = rt.arena.f32(cPtr, c.m * ldc);
    const got = new Float32Array(c.m * c.n);
    for (let r = 0; r < c.m; r++) got.set(full.subarray(r * ldc, r * ldc + c.n), r * c.n);
    // Padding columns of C are left untouched.
    for (let r = 0; r < c.m; r++) for (let j = c.n; j < ldc; j++) expect(full[r * ldc + j]).toBeNaN();
    return { got, a, lda, w };
  } finally {
    rt.arena.reset(mark);
  }
}

const SETUPS: { variant: 'simd' | 'relaxed'; layout: Int8Layout }[] = [
  { variant: 'simd', layout: 'i16' },
  { variant: 'relaxed', layout: 'i16' },
  { variant: 'relaxed', layout: 'u7' },
];

for (const { variant, layout } of SETUPS) {
  describe(`hybrid int8 GEMM, ${variant} kernels, ${layout} layout`, () => {
    let runtimes: KernelRuntime[];
    beforeAll(async () => {
      runtimes = await createRuntimes(variant);
    });
    afterAll(async () => {
      for (const rt of runtimes) await rt.close();
    });

    const bitsList = layout === 'u7' ? [7] : [8, 12];
    for (const activations of ['asymmetric', 'symmetric'] as const) {
      for (const activationBits of bitsList) {
        for (const [i, c] of CASES.entries()) {
          it(`${activations} ${activationBits}-bit: ${name(c)} equals the plain reference bit for bit on ${THREAD_COUNTS.join(', ')} threads`, () => {
            const packing = { layout, activations, activationBits };
            const results = runtimes.map((rt) => run(rt, c, 100 + i, packing));
            const { a, lda, w } = results[0]!;
            const want = referenceInt8(a, lda, c.m, w, packing, c.clamp);
            for (const r of results) expect(sameBits(r.got, want)).toBe(true);
          });
        }
      }
    }
    if (layout === 'i16') {
      it('16-bit activations (K small enough) equal the reference bit for bit', () => {
        const c: Case = { m: 9, n: 11, k: 200, perChannel: true, bias: true };
        const packing = { layout, activations: 'asymmetric' as const, activationBits: 16 };
        const { got, a, lda, w } = run(runtimes[1]!, c, 5, packing);
        expect(sameBits(got, referenceInt8(a, lda, c.m, w, packing))).toBe(true);
      });
    }

    it('stays within the activation-rounding error of the float GEMM of the dequantized weights', () => {
      const c: Case = { m: 64, n: 48, k: 320, perChannel: true, bias: false };
      for (const activations of ['asymmetric', 'symmetric'] as const) {
        for (const activationBits of bitsList) {
          const { got, a, lda, w } = run(runtimes[1]!, c, 7, { layout, activations, activationBits });
          const err = relativeL2(got, floatGemm(a, lda, c.m, w));
          // One rounding step of the row range, 2^-bits of it: a uniform error
          // of step/sqrt(12) per element against rows whose mean |x| is around
          // a quarter of the range: about 2^-bits relative, bounded at 2x that.
          expect(err).toBeLessThan(2 * 2 ** -activationBits);
          expect(err).toBeGreaterThan(2 ** -activationBits / 20); // the activations really are rounded
        }
      }
    });
  });
}

describe('hybrid int8 GEMM on non-finite and tiny inputs', () => {
  for (const variant of ['simd', 'relaxed'] as const) {
    it(`${variant}: NaN in the rows holding NaN or infinity (vector part or tail), a row too small to scale as zeros, the other rows as the reference`, async () => {
      const rt = await createKernelRuntime({ threads: 2, variant, maximumPages: 256 });
      try {
        const k = 21, n = 9, m = 7;
        const w = randomWeights(k, n, random(3), true, true);
        const a = randomFloats(m * k, random(4));
        const clean = a.slice();
        a[1 * k + 5] = NaN; // k = 0..19 go through the vector loop, 20 through the tail
        a[3 * k + 20] = -Infinity;
        a[4 * k + 20] = NaN;
        a[5 * k + 0] = Infinity;
        for (let i = 0; i < k; i++) a[6 * k + i] = clean[6 * k + i] = (i - 10) * 1e-41; // scale would be denormal, 1/scale infinite
        const packed = packGemmInt8Weights(rt, w);
        const aPtr = put(rt, a);
        const cPtr = put(rt, new Float32Array(m * n));
        gemmInt8(rt, packed, { a: aPtr, c: cPtr, m });
        const got = rt.arena.f32(cPtr, m * n).slice();
        const want = referenceInt8(clean, k, m, w, packed); // 'u7' on the relaxed kernels, 'i16' 8-bit on plain SIMD
        for (const r of [0, 2, 6]) expect(got.subarray(r * n, r * n + n)).toEqual(want.subarray(r * n, r * n + n));
        expect(got.subarray(6 * n, 7 * n)).toEqual(w.bias!); // codes all at the zero point
        for (const r of [1, 3, 4, 5]) expect(Array.from(got.subarray(r * n, r * n + n)).every(Number.isNaN)).toBe(true);
      } finally {
        await rt.close();
      }
    });
  }
});

describe('hybrid int8 GEMM arguments', () => {
  let rt: KernelRuntime;
  beforeAll(async () => {
    rt = await createKernelRuntime({ threads: 1, variant: 'simd', maximumPages: 256 });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('refuses the u7 layout on the plain SIMD kernels and mismatched scales', () => {
    const w = randomWeights(8, 4, random(1), true, false);
    expect(() => packGemmInt8Weights(rt, w, { layout: 'u7' })).toThrow(/relaxed/);
    expect(() => packGemmInt8Weights(rt, { ...w, scales: new Float32Array(3) })).toThrow(/3 scales for 4 output channels/);
    // 2^16 x 128 x 256 = 2^31: the i32 sums could overflow.
    expect(() => packGemmInt8Weights(rt, randomWeights(256, 4, random(2), true, false), { activationBits: 16 })).toThrow(/2\^bits x 128 x K < 2\^31 \(K=256\)/);
  });
});
