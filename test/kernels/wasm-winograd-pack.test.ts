// The Winograd filter transform in WebAssembly (assembly/winograd-pack.ts):
// U = G g Gᵀ against a plain float64 reference (each value must be that
// float64 value rounded to float32, up to float64 noise), in the packed
// layout with zeros past cout, for float32, float16 and int8 filters; the
// same bits on 1, 2 and 3 threads; streamed (transformed per use into the
// arena's slot) and resident filters give the same U and the same conv.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f16ArrayToF32, f32ArrayToF16 } from '../../src/io/half.js';
import { packGemmWeights } from '../../src/kernels/wasm/gemm-pack.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { winogradConv3x3 } from '../../src/kernels/wasm/winograd.js';
import { packWinogradWeights, winogradFilterBytes, type PackedWinograd, type WinogradFilter } from '../../src/kernels/wasm/winograd-pack.js';
import { alloc, createRuntimes, put, random, randomFloats, sameBits, withArena } from './wasm-kernel-harness.js';

/** G of F(4x4, 3x3) with points 0, -1, 1, 1/2, -2, infinity, as fractions. */
const G = [
  [1, 0, 0],
  [-1 / 3, 1 / 3, -1 / 3],
  [1 / 3, 1 / 3, 1 / 3],
  [-16 / 15, -8 / 15, -4 / 15],
  [1 / 15, -2 / 15, 4 / 15],
  [0, 0, 1],
];

/** The filter's values as float32 (what the transform starts from). */
function dequantized(f: WinogradFilter, cout: number): Float32Array {
  if (f.dtype === 'float32') return f.data;
  if (f.dtype === 'float16') return f16ArrayToF32(f.data);
  const perChannel = f.data.length / cout;
  return Float32Array.from(f.data, (q, i) => Math.fround(q * f.scales[f.scales.length === 1 ? 0 : Math.floor(i / perChannel)]!));
}

/** U[xi][oc][ci] = (G g Gᵀ)[i][j] in float64, xi = 6i + j. */
function referenceU(g: Float32Array, cin: number, cout: number): Float64Array[] {
  const u = Array.from({ length: 36 }, () => new Float64Array(cout * cin));
  for (let oc = 0; oc < cout; oc++) {
    for (let ci = 0; ci < cin; ci++) {
      const at = (ky: number, kx: number) => g[((oc * 3 + ky) * 3 + kx) * cin + ci]!;
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 6; j++) {
          let s = 0;
          for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) s += G[i]![ky]! * at(ky, kx) * G[j]![kx]!;
          u[i * 6 + j]![oc * cin + ci] = s;
        }
      }
    }
  }
  return u;
}

function ulp32(x: number): number {
  const a = Math.fround(Math.abs(x));
  if (a === 0) return 2 ** -149;
  const e = Math.floor(Math.log2(a));
  return 2 ** Math.max(e - 23, -149);
}

/** Checks packed U (read from kernel memory) against the reference; returns the share of values equal to fround(reference). */
function checkPacked(packed: Float32Array, g: Float32Array, cin: number, cout: number): number {
  const ref = referenceU(g, cin, cout);
  const panels = Math.ceil(cout / 8);
  expect(packed.length).toBe(36 * panels * cin * 8);
  let exact = 0;
  for (let xi = 0; xi < 36; xi++) {
    for (let p = 0; p < panels; p++) {
      for (let ci = 0; ci < cin; ci++) {
        for (let lane = 0; lane < 8; lane++) {
          const got = packed[((xi * panels + p) * cin + ci) * 8 + lane]!;
          const oc = p * 8 + lane;
          if (oc >= cout) {
            expect(Math.abs(got)).toBe(0); // either zero sign
            continue;
          }
          const want = ref[xi]![oc * cin + ci]!;
          let scale = 0;
          for (let k = 0; k < 9; k++) scale = Math.max(scale, Math.abs(g[(oc * 9 + k) * cin + ci]!));
          const err = Math.abs(got - want);
          if (!(err <= 0.5 * ulp32(want) * (1 + 2 ** -20) + 1e-14 * scale)) {
            throw new Error(`U[xi=${xi}][oc=${oc}][ci=${ci}] = ${got}, reference ${want} (error ${err})`);
          }
          if (got === Math.fround(want)) exact++;
        }
      }
    }
  }
  return exact / (36 * cout * cin);
}

function readU(rt: KernelRuntime, w: PackedWinograd): Float32Array {
  expect(w.chunks).toBe(1);
  return rt.arena.f32(w.chunk(0).ptr, winogradFilterBytes(w.cin, w.cout) / 4).slice();
}

interface FilterCase {
  label: string;
  cin: number;
  cout: number;
  make(rnd: () => number, cin: number, cout: number): WinogradFilter;
}

const FILTERS: FilterCase[] = [
  {
    label: 'float32 cin 5 cout 13',
    cin: 5,
    cout: 13,
    make: (rnd, cin, cout) => ({ dtype: 'float32', data: randomFloats(cout * 9 * cin, rnd, -2, 2) }),
  },
  {
    label: 'float32 cin 3 cout 1, zeros and tiny values',
    cin: 3,
    cout: 1,
    make: (rnd, cin, cout) => {
      const d = randomFloats(cout * 9 * cin, rnd);
      d[0] = 0;
      d[4] = -0;
      d[5] = 1e-30;
      d[7] = -3e-38;
      return { dtype: 'float32', data: d };
    },
  },
  {
    label: 'float16 cin 17 cout 9, with subnormals',
    cin: 17,
    cout: 9,
    make: (rnd, cin, cout) => {
      const bits = f32ArrayToF16(randomFloats(cout * 9 * cin, rnd, -4, 4));
      for (let i = 0; i < bits.length; i += 7) bits[i] = (bits[i]! & 0x8000) | (i % 0x3ff); // subnormal halves
      return { dtype: 'float16', data: bits };
    },
  },
  {
    label: 'int8 per-channel cin 11 cout 19',
    cin: 11,
    cout: 19,
    make: (rnd, cin, cout) => ({
      dtype: 'int8',
      data: Int8Array.from({ length: cout * 9 * cin }, () => Math.floor(rnd() * 255) - 127),
      scales: randomFloats(cout, rnd, 1e-3, 5e-2),
    }),
  },
  {
    label: 'int8 one scale cin 7 cout 6',
    cin: 7,
    cout: 6,
    make: (rnd, cin, cout) => ({
      dtype: 'int8',
      data: Int8Array.from({ length: cout * 9 * cin }, () => Math.floor(rnd() * 255) - 127),
      scales: Float32Array.of(0.0123),
    }),
  },
];

describe('Winograd filter transform in WebAssembly', () => {
  let runtimes: KernelRuntime[] = [];
  beforeAll(async () => {
    runtimes = await createRuntimes('simd');
  });
  afterAll(async () => {
    await Promise.all(runtimes.map((rt) => rt.close()));
  });

  it.each(FILTERS.map((f, i) => [f.label, f, i] as const))('%s: float64 reference rounded once, same bits on 1, 2, 3 threads', (_, f, i) => {
    const filter = f.make(random(200 + i), f.cin, f.cout);
    const results = runtimes.map((rt) => {
      const mark = rt.arena.top;
      try {
        return readU(rt, packWinogradWeights(rt, { cin: f.cin, cout: f.cout, filter }, 'resident'));
      } finally {
        rt.arena.reset(mark);
      }
    });
    const exactShare = checkPacked(results[0]!, dequantized(filter, f.cout), f.cin, f.cout);
    expect(exactShare).toBeGreaterThan(0.99);
    for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
  });

  it('streamed filters: same U and the same conv as resident, transformed again only when the slot changed hands', () => {
    const rt = runtimes[1]!;
    const [cin, cout, h, w] = [6, 10, 9, 7];
    const rnd = random(5);
    const f16 = f32ArrayToF16(randomFloats(cout * 9 * cin, rnd));
    const other = randomFloats(cout * 9 * cin, rnd);
    const bias = randomFloats(cout, rnd);
    const x = randomFloats(h * w * cin, rnd);
    let reads = 0;
    const source = () => {
      reads++;
      return f16.slice(); // a fresh buffer per read, as a streamed constant's
    };
    const conv = (packed: PackedWinograd) => withArena(rt, () => {
      const xp = put(rt, x);
      const out = alloc(rt, h * w * cout);
      winogradConv3x3(rt, packed, { x: xp, out, batch: 1, inH: h, inW: w, outH: h, outW: w, padTop: 1, padLeft: 1 });
      return { ptr: out, length: h * w * cout };
    });
    const mark = rt.arena.top;
    try {
      const resident = packWinogradWeights(rt, { cin, cout, bias, filter: { dtype: 'float16', data: f16 } }, 'resident');
      const streamed = packWinogradWeights(rt, { cin, cout, bias, filter: { dtype: 'float16', data: f16, source } }, 'streamed');
      const second = packWinogradWeights(rt, { cin, cout, filter: { dtype: 'float32', data: other } }, 'streamed');
      expect(resident.streamed).toBe(false);
      expect(streamed.streamed).toBe(true);
      expect(reads).toBe(0);

      expect(sameBits(readU(rt, streamed), readU(rt, resident))).toBe(true);
      expect(reads).toBe(1);
      const want = conv(resident);
      expect(sameBits(conv(streamed), want)).toBe(true);
      expect(reads).toBe(1); // the slot still held it
      const secondU = readU(rt, second); // takes the slot
      expect(sameBits(conv(streamed), want)).toBe(true);
      expect(reads).toBe(2);
      checkPacked(secondU, other, cin, cout);
    } finally {
      rt.arena.reset(mark);
    }
  });

  it('a streamed filter used in ranges of output channels gives the resident filter\'s conv bits', () => {
    const rt = runtimes[2]!;
    const [cin, cout, h, w] = [6, 150, 8, 9];
    const rnd = random(21);
    const filter: WinogradFilter = {
      dtype: 'int8',
      data: Int8Array.from({ length: cout * 9 * cin }, () => Math.floor(rnd() * 255) - 127),
      scales: randomFloats(cout, rnd, 1e-3, 2e-2),
    };
    const bias = randomFloats(cout, rnd);
    const x = randomFloats(2 * h * w * cin, rnd);
    const conv = (packed: PackedWinograd) => withArena(rt, () => {
      const xp = put(rt, x);
      const out = alloc(rt, 2 * h * w * cout);
      winogradConv3x3(rt, packed, { x: xp, out, batch: 2, inH: h, inW: w, outH: h, outW: w, padTop: 1, padLeft: 1, clamp: { min: 0, max: 6 } });
      return { ptr: out, length: 2 * h * w * cout };
    });
    const mark = rt.arena.top;
    try {
      const resident = packWinogradWeights(rt, { cin, cout, bias, filter }, 'resident');
      const chunked = packWinogradWeights(rt, { cin, cout, bias, filter }, 'streamed', 1);
      expect(chunked.chunks).toBe(3); // 64 + 64 + 22 output channels
      expect([0, 1, 2].map((i) => chunked.chunk(i).cout)).toEqual([64, 64, 22]);
      const want = conv(resident);
      expect(sameBits(conv(chunked), want)).toBe(true);
      expect(sameBits(conv(chunked), want)).toBe(true); // again, from the last range in place
    } finally {
      rt.arena.reset(mark);
    }
  });

  it('a streamed Winograd filter and streamed GEMM panels live in separate slots', () => {
    const rt = runtimes[0]!;
    const mark = rt.arena.top;
    const budget = rt.arena.residentWeightBudget;
    rt.arena.residentWeightBudget = 0;
    try {
      const rnd = random(9);
      const [cin, cout, k, n] = [4, 8, 12, 16];
      const wino = packWinogradWeights(rt, { cin, cout, filter: { dtype: 'float32', data: randomFloats(cout * 9 * cin, rnd) } }, 'streamed');
      const gemmData = randomFloats(k * n, rnd);
      const gemm = packGemmWeights(rt, { k, n, layout: 'kn', dtype: 'float32', data: gemmData });
      expect(wino.streamed).toBe(true);
      const gemmPtr = gemm.ptr;
      const panels = rt.arena.f32(gemmPtr, k * n).slice();
      const winoPtr = wino.chunk(0).ptr;
      const winoEnd = winoPtr + winogradFilterBytes(cin, cout);
      expect(winoEnd <= gemmPtr || gemmPtr + k * n * 4 <= winoPtr).toBe(true);
      expect(rt.arena.f32(gemmPtr, k * n)).toEqual(panels); // untouched by the transform
      expect(gemm.ptr).toBe(gemmPtr);
    } finally {
      rt.arena.residentWeightBudget = budget;
      rt.arena.reset(mark);
    }
  });

  it('rejects a filter of the wrong size', () => {
    const rt = runtimes[0]!;
    expect(() => packWinogradWeights(rt, { cin: 3, cout: 2, filter: { dtype: 'float32', data: new Float32Array(50) } }, 'resident'))
      .toThrow(/54|\[2, 3, 3, 3\]/);
  });
});
