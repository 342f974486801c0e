import { fma32 } from './float32-fma.js';

/*
 * numpy's float32 `np.log` on x86-64 CPUs with AVX2+FMA3 or AVX512F (every
 * machine the reference ran on) is not libm's logf but a vectorised rational
 * approximation, up to ~3.8 ulp from the true value. The reference sampler
 * takes np.log of a float32 sigma table, so to reproduce its sigmas exactly we
 * evaluate the same approximation with the same float32 roundings:
 *   x = m · 2^k, m in [0.5, 1); if m <= sqrt(1/2) then m = 2m, k = k − 1;
 *   r = m − 1;  log x = fma(k, ln2, P(r)/Q(r)), P and Q degree-5 polynomials
 * evaluated by Horner's rule with fused multiply-adds.
 * The coefficients are numpy's (npy_simd_data.h), as float32 constants.
 */
const P = [
  0.0, 9.999999999999998702752e-1, 2.112677543073053063722, 1.480000633576506585156,
  3.808837741388407920751e-1, 2.589979117907922693523e-2,
].map(Math.fround);
const Q = [
  1.0, 2.612677543073109236779, 2.453006071784736363091, 9.864942958519418960339e-1,
  1.546476374983906719538e-1, 5.875095403124574342950e-3,
].map(Math.fround);
const LN2 = Math.fround(Math.LN2);
const SQRT1_2 = Math.fround(Math.SQRT1_2);
const FLT_MIN = 1.1754943508222875e-38;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** np.log(np.float32 array) for one element, as numpy's AVX2/AVX512F kernel computes it. */
export function numpyFloat32Log(x: number): number {
  x = Math.fround(x);
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let exponentBias = 0;
  if (x < FLT_MIN) {
    x = Math.fround(x * 2 ** 100); // subnormal: scale up, correct the exponent below
    exponentBias = 100;
  }
  f32[0] = x;
  const bits = u32[0]!;
  let k = ((bits >>> 23) & 0xff) - 126 - exponentBias;
  u32[0] = (bits & 0x7fffff) | (126 << 23);
  let m = f32[0]!;
  if (m <= SQRT1_2) {
    m += m;
    k -= 1;
  }
  const r = Math.fround(m - 1);
  let num = fma32(P[5]!, r, P[4]!);
  let den = fma32(Q[5]!, r, Q[4]!);
  for (let i = 3; i >= 0; i--) {
    num = fma32(num, r, P[i]!);
    den = fma32(den, r, Q[i]!);
  }
  return fma32(k, LN2, Math.fround(num / den));
}
