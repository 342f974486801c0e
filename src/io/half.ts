/**
 * IEEE float16 and bfloat16 <-> float32 conversion.
 *
 * Narrowing rounds to nearest, ties to even; values too large for the
 * target become infinity; subnormals are produced and read exactly; NaN
 * stays NaN (the payload's top bits are kept and the quiet bit set, so a
 * NaN never turns into an infinity).
 *
 * The array versions work on the raw bits through Uint32Array views; they
 * run over gigabytes of weights, so they avoid per-element allocation and
 * (for f16 -> f32) use a 256 KB table built on first use.
 * Typed arrays use the host byte order; every Node platform is little endian.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 bits of one float16 (bits in the low 16 bits of `h`). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) {
    // Infinity (mant 0) or NaN (payload kept in the top mantissa bits).
    return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  }
  if (exp !== 0) {
    return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  }
  if (mant === 0) return sign >>> 0;
  // Subnormal half: normalise. value = mant * 2^-24.
  let e = -14;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e -= 1;
  }
  return (sign | ((e + 127) << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** float16 bits of the float32 with bits `x`, round to nearest even. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const a = x & 0x7fffffff; // |x| as bits: comparisons on it order the values
  if (a >= 0x47800000) {
    // >= 2^16: infinity, or NaN (quiet bit set, top payload bits kept).
    return a > 0x7f800000 ? sign | 0x7e00 | ((a >>> 13) & 0x3ff) : sign | 0x7c00;
  }
  if (a >= 0x38800000) {
    // Normal half (>= 2^-14): rebias the exponent (127 -> 15), then add just
    // under half an ulp plus the lowest kept bit, which rounds half to even.
    // A carry out of the mantissa bumps the exponent; from the top binade it
    // gives exactly the infinity pattern 0x7c00 (values >= 65520).
    return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
  }
  if (a <= 0x33000000) return sign; // <= 2^-25, half the smallest subnormal: ties to even zero
  // Subnormal half: value / 2^-24 = (1.mant * 2^23) >> shift, shift in 14..24.
  const shift = 126 - (a >>> 23);
  const m = (a & 0x7fffff) | 0x800000;
  const h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return sign | (rest > half || (rest === half && (h & 1) === 1) ? h + 1 : h);
}

/** bfloat16 bits of the float32 with bits `x`, round to nearest even. */
function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) {
    return ((x >>> 16) | 0x40) & 0xffff; // NaN: keep sign and payload, set quiet bit
  }
  // Adding 0x7fff plus the lowest kept bit rounds half to even; a carry into
  // the exponent is correct (and turns the largest finite values into inf).
  // `x` may be signed or unsigned: >>> works modulo 2^32 either way.
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f16ToF32(bits: number): number {
  scratchU32[0] = f16BitsToF32Bits(bits & 0xffff);
  return scratchF32[0]!;
}

export function f32ToF16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16Bits(scratchU32[0]!);
}

export function bf16ToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0]!;
}

export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToBf16Bits(scratchU32[0]!);
}

let f16Table: Uint32Array | undefined;

function f16ToF32Table(): Uint32Array {
  if (f16Table === undefined) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

export function f16ArrayToF32(u16: Uint16Array): Float32Array {
  const table = f16ToF32Table();
  const out = new Float32Array(u16.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) outBits[i] = table[u16[i]!]!;
  return out;
}

export function f32ArrayToF16(f32: Float32Array): Uint16Array {
  // Int32 (not Uint32) view: its values are always small integers to V8.
  const bits = new Int32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

export function bf16ArrayToF32(u16: Uint16Array): Float32Array {
  const out = new Float32Array(u16.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) outBits[i] = u16[i]! << 16;
  return out;
}

export function f32ArrayToBf16(f32: Float32Array): Uint16Array {
  const bits = new Int32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]!);
  return out;
}
