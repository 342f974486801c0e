import { describe, expect, it } from 'vitest';
import {
  bf16ArrayToF32,
  bf16ToF32,
  f16ArrayToF32,
  f16ToF32,
  f32ArrayToBf16,
  f32ArrayToF16,
  f32ToBf16,
  f32ToF16,
} from '../../src/io/half.js';

// Independent reference: decode with plain arithmetic, and narrow by finding
// the nearest representable value (ties to the even bit pattern) by search.

function refDecode(bits: number, mantBits: number, expBits: number): number {
  const bias = (1 << (expBits - 1)) - 1;
  const sign = bits >>> (mantBits + expBits) ? -1 : 1;
  const exp = (bits >>> mantBits) & ((1 << expBits) - 1);
  const mant = bits & ((1 << mantBits) - 1);
  if (exp === (1 << expBits) - 1) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** (1 - bias - mantBits);
  return sign * (1 + mant / 2 ** mantBits) * 2 ** (exp - bias);
}

/** Non-negative finite values of a format, ascending, with their bit patterns. */
function positiveFinite(mantBits: number, expBits: number): { values: number[]; bits: number[] } {
  const values: number[] = [];
  const bits: number[] = [];
  const maxFinite = ((1 << expBits) - 1) << mantBits;
  for (let b = 0; b < maxFinite; b++) {
    values.push(refDecode(b, mantBits, expBits));
    bits.push(b);
  }
  return { values, bits };
}

function refNarrow(x: number, table: { values: number[]; bits: number[] }, signBit: number, quietNaN: number): number {
  if (Number.isNaN(x)) return quietNaN;
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  const a = Math.abs(x);
  const { values, bits } = table;
  const n = values.length;
  const max = values[n - 1]!;
  const ulpAtMax = max - values[n - 2]!;
  // Round to nearest even: exactly halfway to the next binade (max + ulp/2)
  // rounds up to infinity since max has an odd mantissa.
  if (a >= max + ulpAtMax / 2) return sign | bits[n - 1]! + 1; // infinity pattern
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= a) lo = mid;
    else hi = mid;
  }
  if (a >= values[hi]!) return sign | bits[hi]!;
  const dLo = a - values[lo]!;
  const dHi = values[hi]! - a;
  if (dLo < dHi) return sign | bits[lo]!;
  if (dHi < dLo) return sign | bits[hi]!;
  return sign | ((bits[lo]! & 1) === 0 ? bits[lo]! : bits[hi]!);
}

const half = positiveFinite(10, 5);
const bfloat = positiveFinite(7, 8);
const refF16 = (x: number) => refNarrow(x, half, 0x8000, 0x7e00);
const refBf16 = (x: number) => refNarrow(x, bfloat, 0x8000, 0x7fc0);

function f32FromBits(b: number): number {
  const u = new Uint32Array([b]);
  return new Float32Array(u.buffer)[0]!;
}

/** Seeded xorshift32, so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Interesting float32 inputs: every half/bf16 value, midpoints, neighbours, randoms. */
function probeInputs(table: { values: number[] }): number[] {
  const xs: number[] = [];
  const f32Next = (x: number, dir: 1 | -1) => {
    const u = new Uint32Array(new Float32Array([x]).buffer);
    u[0] = u[0]! + (x === 0 ? (dir === 1 ? 1 : 0) : dir);
    return new Float32Array(u.buffer)[0]!;
  };
  const v = table.values;
  for (let i = 0; i < v.length; i++) {
    xs.push(v[i]!, -v[i]!);
    if (i + 1 < v.length) {
      const mid = Math.fround((v[i]! + v[i + 1]!) / 2);
      xs.push(mid, -mid, f32Next(mid, 1), f32Next(mid, -1));
    }
  }
  const next = prng(12345);
  for (let i = 0; i < 200_000; i++) xs.push(f32FromBits(next()));
  xs.push(Infinity, -Infinity, NaN, 0, -0, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45);
  return xs;
}

describe('float16', () => {
  it('decodes all 65,536 values like the reference, and they round-trip', () => {
    const all = new Uint16Array(65536);
    for (let h = 0; h < 65536; h++) all[h] = h;
    const arr = f16ArrayToF32(all);
    const back = f32ArrayToF16(arr);
    for (let h = 0; h < 65536; h++) {
      const ref = refDecode(h, 10, 5);
      const x = f16ToF32(h);
      if (Number.isNaN(ref)) {
        expect(Number.isNaN(x) && Number.isNaN(arr[h]!)).toBe(true);
        expect(Number.isNaN(f16ToF32(f32ToF16(x)))).toBe(true);
        expect(Number.isNaN(f16ToF32(back[h]!))).toBe(true);
      } else {
        if (!Object.is(x, ref) || !Object.is(arr[h], ref)) throw new Error(`f16 ${h.toString(16)}: ${x} vs ${ref}`);
        if (f32ToF16(x) !== h || back[h] !== h) throw new Error(`f16 ${h.toString(16)} does not round-trip`);
      }
    }
  });

  it('narrows float32 like the nearest-even reference (ties, subnormals, overflow)', () => {
    const xs = probeInputs(half);
    const f32 = new Float32Array(xs);
    const arr = f32ArrayToF16(f32);
    for (let i = 0; i < f32.length; i++) {
      const x = f32[i]!;
      const ref = refF16(x);
      const got = f32ToF16(x);
      if (Number.isNaN(x)) {
        expect((got & 0x7c00) === 0x7c00 && (got & 0x3ff) !== 0).toBe(true);
        expect(arr[i]).toBe(got);
        continue;
      }
      if (got !== ref || arr[i] !== ref) {
        throw new Error(`f32 ${x}: got ${got.toString(16)}/${arr[i]!.toString(16)}, want ${ref.toString(16)}`);
      }
    }
  });

  it('gets the documented boundary cases right', () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519.996)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // tie between 65504 and 2^16: even is infinity
    expect(f32ToF16(-1e10)).toBe(0xfc00);
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie between 0 and 2^-24 goes to even (0)
    expect(f32ToF16(Math.fround(2 ** -25 * 1.0000001))).toBe(0x0001);
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 subnormal ulps goes to 2
    expect(f32ToF16(2 ** -14 - 2 ** -25)).toBe(0x0400); // largest-subnormal tie rounds up into normals
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie, even mantissa stays
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd mantissa rounds up
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
  });
});

describe('bfloat16', () => {
  it('decodes all 65,536 values like the reference, and they round-trip', () => {
    const all = new Uint16Array(65536);
    for (let h = 0; h < 65536; h++) all[h] = h;
    const arr = bf16ArrayToF32(all);
    const back = f32ArrayToBf16(arr);
    for (let h = 0; h < 65536; h++) {
      const ref = refDecode(h, 7, 8);
      const x = bf16ToF32(h);
      if (Number.isNaN(ref)) {
        expect(Number.isNaN(x) && Number.isNaN(arr[h]!)).toBe(true);
        expect(Number.isNaN(bf16ToF32(f32ToBf16(x)))).toBe(true);
        expect(Number.isNaN(bf16ToF32(back[h]!))).toBe(true);
      } else {
        if (!Object.is(x, ref) || !Object.is(arr[h], ref)) throw new Error(`bf16 ${h.toString(16)}: ${x} vs ${ref}`);
        if (f32ToBf16(x) !== h || back[h] !== h) throw new Error(`bf16 ${h.toString(16)} does not round-trip`);
      }
    }
  });

  it('narrows float32 like the nearest-even reference', () => {
    const xs = probeInputs(bfloat);
    const f32 = new Float32Array(xs);
    const arr = f32ArrayToBf16(f32);
    for (let i = 0; i < f32.length; i++) {
      const x = f32[i]!;
      const got = f32ToBf16(x);
      if (Number.isNaN(x)) {
        expect((got & 0x7f80) === 0x7f80 && (got & 0x7f) !== 0).toBe(true);
        expect(arr[i]).toBe(got);
        continue;
      }
      const ref = refBf16(x);
      if (got !== ref || arr[i] !== ref) {
        throw new Error(`f32 ${x}: got ${got.toString(16)}/${arr[i]!.toString(16)}, want ${ref.toString(16)}`);
      }
    }
  });

  it('gets the documented boundary cases right', () => {
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie, odd rounds up
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // largest float32 rounds to infinity
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    expect(f32ToBf16(1e-45)).toBe(0x0000); // smallest f32 subnormal: below half a bf16 ulp
    expect(f32ToBf16(f32FromBits(0x00008000))).toBe(0x0000); // tie to even (0)
    expect(f32ToBf16(f32FromBits(0x00018000))).toBe(0x0002); // tie to even (2)
  });
});
