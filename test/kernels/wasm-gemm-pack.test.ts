import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { packGemmWeights, type GemmWeights, type WeightLayout } from '../../src/kernels/wasm/gemm-pack.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { referencePackPanels } from '../support/gemm-pack-reference.js';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Encoding = 'float32' | 'float16' | 'int8' | 'int8-tensor';

/** Weights with awkward values: float32 of any bits (NaNs, subnormals), any half pattern, int8 over its whole range with some subnormal and huge scales. */
function makeWeights(dtype: Encoding, layout: WeightLayout, k: number, n: number, rnd: () => number): GemmWeights {
  const size = k * n;
  const common = { k, n, layout };
  switch (dtype) {
    case 'float32':
      return { ...common, dtype, data: new Float32Array(Uint32Array.from({ length: size }, () => (rnd() * 2 ** 32) >>> 0).buffer) };
    case 'float16':
      return { ...common, dtype, data: Uint16Array.from({ length: size }, () => Math.floor(rnd() * 65536)) };
    case 'int8':
    case 'int8-tensor': {
      const data = Int8Array.from({ length: size }, () => Math.floor(rnd() * 256) - 128);
      const scale = (): number => [1e-41, 3e-39, 0.0123, 7.5e37][Math.floor(rnd() * 4)]! * (1 + rnd());
      const scales = Float32Array.from({ length: dtype === 'int8' ? n : 1 }, scale);
      return { ...common, dtype: 'int8', data, scales };
    }
  }
}

/** Index of the first float that differs in bits (NaNs of any payload count as equal), or -1. */
function firstDifference(actual: Float32Array, expected: Float32Array): number {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) return i;
  }
  return -1;
}

/** The panels packGemmWeights leaves in kernel memory, resident or (budget used up) streamed. */
function pack(rt: KernelRuntime, w: GemmWeights, streamed: boolean): Float32Array {
  const mark = rt.arena.top;
  const budget = rt.arena.residentWeightBudget;
  if (streamed) rt.arena.residentWeightBudget = 0;
  try {
    const packed = packGemmWeights(rt, streamed ? { ...w, source: () => w.data } : w);
    return rt.arena.f32(packed.ptr, Math.ceil(w.n / 8) * w.k * 8).slice();
  } finally {
    rt.arena.residentWeightBudget = budget;
    rt.arena.reset(mark);
  }
}

function referencePanels(w: GemmWeights): Float32Array {
  const out = new Float32Array(Math.ceil(w.n / 8) * w.k * 8).fill(NaN); // every float must be written
  referencePackPanels(w, out);
  return out;
}

const SIZES = [1, 4, 7, 8, 9, 13, 77];
const ENCODINGS: Encoding[] = ['float32', 'float16', 'int8', 'int8-tensor'];
const LAYOUTS: WeightLayout[] = ['nk', 'kn'];

describe('packGemmWeights (WebAssembly packing kernel)', () => {
  const runtimes: KernelRuntime[] = [];
  beforeAll(async () => {
    for (const threads of [1, 2, 3]) runtimes.push(await createKernelRuntime({ threads, variant: 'simd' }));
  });
  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
  });

  for (const dtype of ENCODINGS) {
    for (const layout of LAYOUTS) {
      it(`${dtype} '${layout}': the plain packer's panels, bit for bit, for K, N in ${SIZES.join(', ')} and 1, 2, 3 threads`, () => {
        const rnd = random(SIZES.length * 31 + dtype.length * 7 + layout.length);
        for (const k of SIZES) {
          for (const n of SIZES) {
            const w = makeWeights(dtype, layout, k, n, rnd);
            const expected = referencePanels(w);
            for (const rt of runtimes) {
              for (const streamed of [false, true]) {
                const at = firstDifference(pack(rt, w, streamed), expected);
                expect(at, `K=${k} N=${n} threads=${rt.threads} ${streamed ? 'streamed' : 'resident'}: float ${at}`).toBe(-1);
              }
            }
          }
        }
      });
    }
  }

  it("stages long 'nk' weights a few panels per job (jobs end mid-matrix and at the partial panel)", () => {
    // 16387 x 203: 26 panels, staged 8 (float32) or 16 (float16) per job of 4 MiB (int8: all in one).
    const rnd = random(77);
    for (const dtype of ['float32', 'float16'] as const) {
      const w = makeWeights(dtype, 'nk', 16387, 203, rnd);
      const expected = referencePanels(w);
      for (const rt of runtimes.slice(0, 2)) {
        expect(firstDifference(pack(rt, w, false), expected), `${dtype} threads=${rt.threads}`).toBe(-1);
      }
    }
  });

  it('converts every half-precision pattern exactly, NaN sign and payload kept', () => {
    const data = Uint16Array.from({ length: 65536 }, (_, h) => h);
    for (const layout of LAYOUTS) {
      const w: GemmWeights = { k: 8192, n: 8, layout, dtype: 'float16', data };
      for (const rt of runtimes.slice(0, 2)) {
        const panels = pack(rt, w, false);
        expect(firstDifference(panels, referencePanels(w))).toBe(-1);
        const bits = new Uint32Array(panels.buffer);
        for (let h = 0; h < 65536; h++) {
          if ((h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0) continue;
          const col = layout === 'nk' ? Math.floor(h / 8192) : h % 8;
          const kk = layout === 'nk' ? h % 8192 : Math.floor(h / 8);
          const expected = (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;
          if (bits[kk * 8 + col] !== expected) expect.fail(`half 0x${h.toString(16)}: bits 0x${bits[kk * 8 + col]!.toString(16)}`);
        }
      }
    }
  });

  it('packs several streamed weights in turn into the shared slot, each read again from its source', () => {
    const rt = runtimes[1]!;
    const mark = rt.arena.top;
    rt.arena.residentWeightBudget = 0;
    try {
      const rnd = random(5);
      const ws = [makeWeights('float16', 'nk', 40, 24, rnd), makeWeights('int8', 'kn', 9, 77, rnd), makeWeights('float32', 'nk', 13, 5, rnd)];
      const reads = ws.map(() => 0);
      const packed = ws.map((w, i) => packGemmWeights(rt, { ...w, source: () => (reads[i]!++, w.data) }));
      for (const i of [0, 1, 2, 0, 0, 2]) {
        const w = ws[i]!;
        const at = firstDifference(rt.arena.f32(packed[i]!.ptr, Math.ceil(w.n / 8) * w.k * 8), referencePanels(w));
        expect(at, `weights ${i}`).toBe(-1);
      }
      expect(reads).toEqual([2, 1, 2]); // the slot still held weights 0 on the second of two reads in a row
    } finally {
      rt.arena.residentWeightBudget = Infinity;
      rt.arena.reset(mark);
    }
  });

  it('rejects scales and source data that do not match the shape', () => {
    const rt = runtimes[0]!;
    const mark = rt.arena.top;
    try {
      const data = new Int8Array(12);
      expect(() => packGemmWeights(rt, { k: 3, n: 4, layout: 'nk', dtype: 'int8', data, scales: new Float32Array(2) })).toThrow(UsageError);
      rt.arena.residentWeightBudget = 0;
      const streamed = packGemmWeights(rt, { k: 3, n: 4, layout: 'nk', dtype: 'float32', data: new Float32Array(12), source: () => new Float32Array(11) });
      expect(() => streamed.ptr).toThrow(/11 elements for K=3 x N=4/);
    } finally {
      rt.arena.residentWeightBudget = Infinity;
      rt.arena.reset(mark);
    }
  });
});
