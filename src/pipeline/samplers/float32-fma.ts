import { twoSum } from '../rng/double-double.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The float32 next to r (a finite float32) in the direction of `toward`. */
function nextFloat32(r: number, toward: number): number {
  if (r === 0) return toward > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
  f32[0] = r;
  u32[0] += (toward > r) === (r > 0) ? 1 : -1;
  return f32[0]!;
}

/** The double next to x (finite, nonzero) in the direction of `toward`. */
function nextDouble(x: number, toward: number): number {
  f64[0] = x;
  u64[0] = (toward > x) === (x > 0) ? u64[0]! + 1n : u64[0]! - 1n;
  return f64[0]!;
}

/**
 * Fused multiply-add in float32, a·b + c rounded once: what a CPU's vfmadd
 * does on float32 lanes. For float32 a, b the product is exact in a double;
 * adding c rounds to a double first, which changes the float32 result only
 * when that double lands exactly on a float32 rounding midpoint. Then the
 * exact residual of the addition says on which side the true sum lies.
 */
export function fma32(a: number, b: number, c: number): number {
  const { hi: s, lo: err } = twoSum(a * b, c);
  const r = Math.fround(s);
  if (err === 0 || r === s || !Number.isFinite(r)) return r;
  const neighbour = nextFloat32(r, s);
  const isMidpoint = s - r === neighbour - s;
  return isMidpoint ? Math.fround(nextDouble(s, s + err)) : r;
}
