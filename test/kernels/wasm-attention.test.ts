import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attention as referenceAttention } from '../../src/kernels/reference/attention.js';
import { attention, type AttentionLayout } from '../../src/kernels/wasm/attention.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { VARIANTS, alloc, createRuntimes, put, random, randomFloats, relativeToMaxError, sameBits, withArena } from './wasm-kernel-harness.js';

interface Case {
  b: number;
  t: number;
  s: number;
  n: number;
  kn?: number;
  d: number;
  dv?: number;
  causal?: boolean;
  /** Mask shape (broadcast to [B, N, T, S]); `holes` sets some entries to -inf. */
  mask?: number[];
  holes?: boolean;
  /** Row t = 0 of every (b, n) fully masked: the output row must be NaN. */
  blindRow?: boolean;
  /** Keys from this position on scaled by `jumpScale`: later key blocks' scores far above the earlier ones'. */
  jumpFrom?: number;
  jumpScale?: number;
  /** Q and K scaled by this: scores of millions (past the kernel's exact exponent split). */
  huge?: number;
}

const cases: Case[] = [
  { b: 1, t: 5, s: 7, n: 2, d: 5 },
  { b: 2, t: 77, s: 77, n: 3, d: 64, causal: true },
  { b: 2, t: 70, s: 130, n: 2, d: 40, mask: [2, 1, 70, 130], holes: true },
  { b: 1, t: 9, s: 200, n: 2, d: 80, mask: [1, 200] },
  { b: 1, t: 6, s: 70, n: 1, d: 160, mask: [6, 1] },
  { b: 1, t: 66, s: 77, n: 4, kn: 2, d: 40 },
  { b: 1, t: 13, s: 19, n: 2, d: 12, dv: 20, causal: true, mask: [1, 2, 13, 19] },
  { b: 1, t: 3, s: 140, n: 1, d: 8, mask: [1, 1, 3, 140], blindRow: true },
  // More than 128 keys: blocks of 24 keys for d = 160, of 64 for d = 64 (last block 11 keys).
  { b: 1, t: 6, s: 150, n: 1, d: 160, causal: true },
  { b: 1, t: 9, s: 203, n: 2, d: 64, mask: [1, 2, 9, 203] },
  // No mask: blocks after the first take p against the running references inside the score tiles.
  { b: 2, t: 19, s: 300, n: 2, d: 40 },
  { b: 1, t: 11, s: 203, n: 3, kn: 1, d: 64 },
  // Scores jump far above the references in later blocks (those blocks are redone the two-pass way).
  { b: 1, t: 10, s: 260, n: 2, d: 64, jumpFrom: 150, jumpScale: 30 },
  { b: 1, t: 12, s: 400, n: 1, d: 40, jumpFrom: 150, jumpScale: 12 },
  { b: 1, t: 6, s: 140, n: 2, d: 8, huge: 1500 },
];

function label(c: Case): string {
  const parts = [`B=${c.b} T=${c.t} S=${c.s} N=${c.n}`, c.kn ? `KN=${c.kn}` : '', `d=${c.d}`, c.dv ? `dv=${c.dv}` : ''];
  if (c.causal) parts.push('causal');
  if (c.mask) parts.push(`mask [${c.mask.join(',')}]${c.holes ? ' with -inf' : ''}${c.blindRow ? ' blind row' : ''}`);
  if (c.jumpFrom !== undefined) parts.push(`keys >= ${c.jumpFrom} x${c.jumpScale}`);
  if (c.huge) parts.push(`Q, K x${c.huge}`);
  return parts.filter(Boolean).join(' ');
}

/** [B, X, H, D] -> [B, H, X, D]. */
function swapMiddle(data: Float32Array, b: number, x: number, h: number, d: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < x; j++) {
      for (let k = 0; k < h; k++) {
        const src = ((i * x + j) * h + k) * d;
        out.set(data.subarray(src, src + d), ((i * h + k) * x + j) * d);
      }
    }
  }
  return out;
}

function makeInputs(c: Case) {
  const rnd = random(c.t * 131 + c.s * 17 + c.d);
  const kn = c.kn ?? c.n;
  const dv = c.dv ?? c.d;
  const q = randomFloats(c.b * c.t * c.n * c.d, rnd, -2, 2);
  const k = randomFloats(c.b * c.s * kn * c.d, rnd, -2, 2);
  const v = randomFloats(c.b * c.s * kn * dv, rnd);
  if (c.jumpFrom !== undefined) {
    for (let i = 0; i < c.b; i++) for (let j = c.jumpFrom; j < c.s; j++) for (let x = 0; x < kn * c.d; x++) k[(i * c.s + j) * kn * c.d + x]! *= c.jumpScale!;
  }
  if (c.huge) {
    for (let i = 0; i < q.length; i++) q[i]! *= c.huge;
    for (let i = 0; i < k.length; i++) k[i]! *= c.huge;
  }
  let mask: Float32Array | undefined;
  if (c.mask) {
    const size = c.mask.reduce((x, y) => x * y, 1);
    mask = randomFloats(size, rnd, -3, 3);
    if (c.holes) for (let i = 0; i < size; i++) if (rnd() < 0.3) mask[i] = -Infinity;
    if (c.holes) {
      // One row of the first sample sees nothing in its first two key blocks, only keys >= 128.
      const [, , , s] = c.mask as [number, number, number, number];
      for (let j = 0; j < 128; j++) mask[5 * s + j] = -Infinity;
      mask[5 * s + 129] = 0.5;
    }
    if (c.blindRow) mask.fill(-Infinity, 0, c.s);
  }
  return { q, k, v, mask, kn, dv };
}

/** [B, H, S, D] -> [B, H, D, S]. */
function transposeLast(data: Float32Array, outer: number, s: number, d: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let o = 0; o < outer; o++) for (let i = 0; i < s; i++) for (let j = 0; j < d; j++) out[(o * d + j) * s + i] = data[(o * s + i) * d + j]!;
  return out;
}

function runWasm(
  rt: KernelRuntime, c: Case, layout: AttentionLayout, inputs: ReturnType<typeof makeInputs>, keysTransposed = false,
): Float32Array {
  const { kn, dv } = inputs;
  let { q, k, v } = inputs;
  if (layout === 'BNTH') {
    q = swapMiddle(q, c.b, c.t, c.n, c.d);
    k = swapMiddle(k, c.b, c.s, kn, c.d);
    v = swapMiddle(v, c.b, c.s, kn, dv);
  }
  if (keysTransposed) k = transposeLast(swapMiddle(inputs.k, c.b, c.s, kn, c.d), c.b * kn, c.s, c.d);
  const result = withArena(rt, () => {
    const out = alloc(rt, c.b * c.t * c.n * dv);
    attention(rt, {
      q: put(rt, q), k: put(rt, k), v: put(rt, v), out,
      batch: c.b, queries: c.t, keys: c.s, heads: c.n, kvHeads: kn, dim: c.d, valueDim: dv,
      layout, keysTransposed, scale: 1 / Math.sqrt(c.d), causal: c.causal,
      mask: inputs.mask ? { ptr: put(rt, inputs.mask), shape: c.mask! } : null,
    });
    return { ptr: out, length: c.b * c.t * c.n * dv };
  });
  return layout === 'BNTH' ? swapMiddle(result, c.b, c.n, c.t, dv) : result;
}

for (const variant of VARIANTS) {
  describe(`wasm attention (${variant} SIMD)`, () => {
    let runtimes: KernelRuntime[] = [];
    beforeAll(async () => {
      runtimes = await createRuntimes(variant);
    });
    afterAll(async () => {
      for (const rt of runtimes) await rt.close();
    });

    it.each(cases.map((c) => [label(c), c] as const))('%s', (_name, c) => {
      const inputs = makeInputs(c);
      const kn = inputs.kn;
      const want = referenceAttention(
        { data: inputs.q, shape: [c.b, c.t, c.n, c.d] },
        { data: inputs.k, shape: [c.b, c.s, kn, c.d] },
        { data: inputs.v, shape: [c.b, c.s, kn, inputs.dv] },
        {
          scale: 1 / Math.sqrt(c.d),
          causal: c.causal,
          mask: inputs.mask ? { data: inputs.mask, shape: c.mask! } : null,
        },
      ).data;
      if (c.blindRow) expect(Number.isNaN(want[0])).toBe(true);
      const results = runtimes.map((rt) => runWasm(rt, c, 'BTNH', inputs));
      for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
      expect(relativeToMaxError(results[0]!, want)).toBeLessThan(1e-5);
      const heads = runWasm(runtimes[1]!, c, 'BNTH', inputs);
      expect(sameBits(heads, results[0]!)).toBe(true);
      // K as [B, KN, d, S] (a matmul's right operand), with either layout of Q, V and out.
      for (const layout of ['BNTH', 'BTNH'] as const) {
        expect(sameBits(runWasm(runtimes[1]!, c, layout, inputs, true), results[0]!)).toBe(true);
      }
    });
  });
}

describe('wasm attention arguments', () => {
  let rt: KernelRuntime;
  beforeAll(async () => {
    rt = await createKernelRuntime({ threads: 1, variant: 'simd', maximumPages: 64 });
  });
  afterAll(async () => {
    await rt.close();
  });
  it('rejects a mask that does not broadcast and mismatched heads', () => {
    const base = { q: 64, k: 64, v: 64, out: 64, batch: 1, queries: 2, keys: 3, heads: 2, dim: 4, scale: 1 };
    expect(() => attention(rt, { ...base, mask: { ptr: 64, shape: [2, 3, 3] } })).toThrow(/broadcast/);
    expect(() => attention(rt, { ...base, kvHeads: 3 })).toThrow(/multiple/);
  });
});
