import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemm } from '../../src/kernels/wasm/gemm.js';
import { packGemmWeights, type GemmWeights, type WeightLayout } from '../../src/kernels/wasm/gemm-pack.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { enableRelaxedSimd, type KernelVariant } from '../../src/kernels/wasm/loader.js';

// Lets this test process also compile and check the relaxed-SIMD variant
// (plain Node 20 needs --experimental-wasm-relaxed-simd for it).
const relaxedAvailable = enableRelaxedSimd();

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomFloats(n: number, rnd: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => rnd() * 2 - 1);
}

/** Half bit patterns of normal numbers of moderate size, both signs. */
function randomHalves(n: number, rnd: () => number): Uint16Array {
  return Uint16Array.from({ length: n }, () => {
    const sign = rnd() < 0.5 ? 0x8000 : 0;
    const exponent = 8 + Math.floor(rnd() * 8); // 2^-7 .. 2^0
    return sign | (exponent << 10) | Math.floor(rnd() * 1024);
  });
}

function halfValue(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const magnitude = e === 0 ? m / 1024 / 16384 : (1 + m / 1024) * Math.pow(2, e - 15);
  return h & 0x8000 ? -magnitude : magnitude;
}

/** B[k][n] as float32 from any supported weight encoding. */
function denseB(w: GemmWeights): Float32Array {
  const out = new Float32Array(w.k * w.n);
  for (let kk = 0; kk < w.k; kk++) {
    for (let n = 0; n < w.n; n++) {
      const i = w.layout === 'kn' ? kk * w.n + n : n * w.k + kk;
      let v: number;
      if (w.dtype === 'float32') v = w.data[i]!;
      else if (w.dtype === 'float16') v = halfValue(w.data[i]!);
      else v = Math.fround(w.data[i]! * w.scales[w.scales.length === 1 ? 0 : n]!);
      out[kk * w.n + n] = v;
    }
  }
  return out;
}

/** Plain float32 GEMM: bias, then each product rounded and added in k order, then the clamp. */
function referenceGemm(a: Float32Array, lda: number, w: GemmWeights, m: number, clamp = [-Infinity, Infinity]): Float32Array {
  const b = denseB(w);
  const c = new Float32Array(m * w.n);
  for (let i = 0; i < m; i++) {
    for (let n = 0; n < w.n; n++) {
      let acc = w.bias ? w.bias[n]! : 0;
      for (let kk = 0; kk < w.k; kk++) acc = Math.fround(acc + Math.fround(a[i * lda + kk]! * b[kk * w.n + n]!));
      c[i * w.n + n] = Math.min(Math.max(acc, clamp[0]!), clamp[1]!);
    }
  }
  return c;
}

interface Case {
  m: number;
  n: number;
  k: number;
  dtype: 'float32' | 'float16' | 'int8' | 'int8-tensor';
  layout: WeightLayout;
  bias: boolean;
  lda?: number;
  ldc?: number;
  clamp?: [number, number];
}

function makeWeights(c: Case, rnd: () => number): GemmWeights {
  const size = c.k * c.n;
  const bias = c.bias ? randomFloats(c.n, rnd) : undefined;
  const common = { k: c.k, n: c.n, layout: c.layout, bias };
  switch (c.dtype) {
    case 'float32':
      return { ...common, dtype: 'float32', data: randomFloats(size, rnd) };
    case 'float16':
      return { ...common, dtype: 'float16', data: randomHalves(size, rnd) };
    case 'int8':
    case 'int8-tensor': {
      const data = Int8Array.from({ length: size }, () => Math.floor(rnd() * 255) - 127);
      const scales = Float32Array.from({ length: c.dtype === 'int8' ? c.n : 1 }, () => 0.001 + rnd() * 0.02);
      return { ...common, dtype: 'int8', data, scales };
    }
  }
}

/** Runs one case; returns the whole C buffer (with its stride padding). */
function runCase(rt: KernelRuntime, c: Case, a: Float32Array, w: GemmWeights): Float32Array {
  const mark = rt.arena.top;
  const lda = c.lda ?? c.k;
  const ldc = c.ldc ?? c.n;
  const packed = packGemmWeights(rt, w);
  const aPtr = rt.arena.alloc(Math.max(1, a.length) * 4);
  rt.arena.f32(aPtr, a.length).set(a);
  const cLen = c.m * ldc;
  const cPtr = rt.arena.alloc(cLen * 4);
  rt.arena.f32(cPtr, cLen).fill(-7); // stride padding must stay untouched
  const clamp = c.clamp && { min: c.clamp[0], max: c.clamp[1] };
  gemm(rt, packed, { a: aPtr, c: cPtr, m: c.m, lda, ldc, clamp });
  const out = rt.arena.f32(cPtr, cLen).slice();
  rt.arena.reset(mark);
  return out;
}

const cases: Case[] = [
  { m: 1, n: 1, k: 1, dtype: 'float32', layout: 'kn', bias: false },
  { m: 5, n: 3, k: 7, dtype: 'float32', layout: 'kn', bias: true },
  { m: 13, n: 17, k: 1, dtype: 'float32', layout: 'nk', bias: true },
  { m: 8, n: 16, k: 16, dtype: 'float32', layout: 'kn', bias: false },
  { m: 9, n: 24, k: 33, dtype: 'float32', layout: 'nk', bias: true, lda: 40, ldc: 27 },
  { m: 3, n: 1, k: 600, dtype: 'float32', layout: 'kn', bias: true },
  { m: 37, n: 29, k: 1100, dtype: 'float32', layout: 'nk', bias: true },
  { m: 5, n: 9, k: 2100, dtype: 'float32', layout: 'kn', bias: true },
  { m: 21, n: 13, k: 1030, dtype: 'float32', layout: 'nk', bias: true, clamp: [0, Infinity] },
  { m: 6, n: 11, k: 9, dtype: 'float32', layout: 'kn', bias: true, clamp: [0, 0.5] },
  { m: 9, n: 8, k: 40, dtype: 'float32', layout: 'kn', bias: false, clamp: [-0.25, 0.25] },
  { m: 133, n: 10, k: 20, dtype: 'float32', layout: 'kn', bias: true },
  // Several row chunks by several panel ranges (at most 32 panels each), a 5-row tail tile.
  { m: 509, n: 1100, k: 13, dtype: 'float32', layout: 'nk', bias: true, clamp: [-1, 1] },
  { m: 2, n: 3, k: 0, dtype: 'float32', layout: 'kn', bias: true },
  { m: 6, n: 70, k: 19, dtype: 'float32', layout: 'nk', bias: false },
  { m: 11, n: 21, k: 45, dtype: 'float16', layout: 'nk', bias: true },
  { m: 7, n: 9, k: 530, dtype: 'float16', layout: 'kn', bias: false },
  { m: 10, n: 19, k: 23, dtype: 'int8', layout: 'nk', bias: true },
  { m: 17, n: 5, k: 31, dtype: 'int8-tensor', layout: 'kn', bias: false },
];

function label(c: Case): string {
  const clamp = c.clamp ? ` clamp=[${c.clamp[0]}, ${c.clamp[1]}]` : '';
  return `M=${c.m} N=${c.n} K=${c.k} ${c.dtype} ${c.layout}${c.bias ? ' +bias' : ''}${c.lda ? ` lda=${c.lda} ldc=${c.ldc}` : ''}${clamp}`;
}

for (const variant of ['simd', 'relaxed'] as KernelVariant[]) {
  describe(`gemm (${variant} SIMD)`, () => {
    const runtimes: KernelRuntime[] = [];
    beforeAll(async () => {
      for (const threads of [1, 2, 3]) runtimes.push(await createKernelRuntime({ threads, variant, maximumPages: 1024 }));
    });
    afterAll(async () => {
      for (const rt of runtimes) await rt.close();
    });

    it.each(cases.map((c) => [label(c), c] as const))('%s', (_name, c) => {
      const rnd = random(c.m * 7919 + c.n * 104729 + c.k);
      const lda = c.lda ?? c.k;
      const ldc = c.ldc ?? c.n;
      const a = randomFloats(c.m * lda, rnd);
      const w = makeWeights(c, rnd);
      const expected = referenceGemm(a, lda, w, c.m, c.clamp);
      const [one, two, three] = runtimes.map((rt) => runCase(rt, c, a, w));
      // Same bytes for any thread count.
      expect(Buffer.from(two!.buffer).equals(Buffer.from(one!.buffer))).toBe(true);
      expect(Buffer.from(three!.buffer).equals(Buffer.from(one!.buffer))).toBe(true);
      let maxError = 0;
      const wrong: string[] = []; // collected, not one expect per element: large cases have 10^5 elements
      for (let i = 0; i < c.m; i++) {
        for (let j = 0; j < ldc; j++) {
          const got = one![i * ldc + j]!;
          const want = j >= c.n ? -7 : expected[i * c.n + j]!;
          // Stride padding stays untouched; mul then add (simd) takes the reference's exact steps.
          if ((j >= c.n || variant === 'simd') && !Object.is(got, want)) wrong.push(`C[${i}][${j}] = ${got}, want ${want}`);
          else if (j < c.n) maxError = Math.max(maxError, Math.abs(got - want) / (1 + Math.abs(want)));
        }
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      // A fused multiply-add rounds once instead of twice per step.
      expect(maxError).toBeLessThan(1e-5);
    });
  });
}

describe('gemm packing', () => {
  it('runs the relaxed variant in this process', () => {
    expect(relaxedAvailable).toBe(true);
  });

  it('expands known half-precision values exactly', async () => {
    const halves = Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0xfbff, 0x0400]);
    const values = [1, -2, 65504, 2 ** -24, 0.333251953125, -65504, 2 ** -14];
    const rt = await createKernelRuntime({ threads: 1, variant: 'simd', maximumPages: 64 });
    try {
      const w: GemmWeights = { k: 1, n: values.length, layout: 'kn', dtype: 'float16', data: halves };
      const out = runCase(rt, { m: 1, n: values.length, k: 1, dtype: 'float16', layout: 'kn', bias: false }, Float32Array.of(1), w);
      expect(Array.from(out)).toEqual(values);
    } finally {
      await rt.close();
    }
  });
});
