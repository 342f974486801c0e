import { ddAdd, ddMulNumber, expDD, LN2, twoProd, twoSum } from './double-double.js';

/**
 * Natural logarithm rounded to the nearest double.
 *
 * numpy's legacy Gaussian calls the C library's log. glibc's is accurate to
 * ~0.52 ulp, so it equals the correctly rounded value except on inputs
 * within ~0.02 ulp of a rounding tie (about 1 in 1000 of the values numpy's
 * Gaussian feeds it; test/fixtures/pipeline-math/log.json lists the ones
 * met in the fixtures, where a float64 draw then differs by 1 ulp, never
 * its float32 cast). V8's Math.log is only faithfully rounded: ~5% of
 * inputs come out 1 ulp away. So we take Math.log as a first guess and
 * correct it with one Newton step in double-double arithmetic (~106 bits),
 * then round once.
 *
 * x = m · 2^e with m in [sqrt(1/2), sqrt(2)); log x = e·ln2 + log m, and for
 * y0 = Math.log(m): log m = y0 + log(m·exp(-y0)) ≈ y0 + (m/exp(y0) − 1), the
 * neglected term being of order (1 ulp)^2.
 */
export function correctlyRoundedLog(x: number): number {
  if (!(x > 0) || x === Infinity) return Math.log(x); // NaN, ±0, negatives, +Inf: IEEE results
  if (x === 1) return 0;
  let { m, e } = decompose(x);
  if (m > Math.SQRT2) {
    m /= 2; // exact
    e += 1;
  }
  const y0 = Math.log(m);
  const expY0 = expDD(y0);
  // d = m / exp(y0) − 1, with the division residual computed exactly.
  const q = m / expY0.hi;
  const p = twoProd(q, expY0.hi);
  const residual = m - p.hi - p.lo - q * expY0.lo;
  const d = q - 1 + residual / expY0.hi;
  let sum = twoSum(y0, d);
  if (e !== 0) sum = ddAdd(ddMulNumber(LN2, e), sum);
  return sum.hi + sum.lo;
}

/** x = m · 2^e with m in [1, 2), also for subnormal x. */
function decompose(x: number): { m: number; e: number } {
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 2 ** 64;
    e -= 64;
  }
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, x);
  const hiWord = bits.getUint32(0);
  e += ((hiWord >>> 20) & 0x7ff) - 1023;
  bits.setUint32(0, (hiWord & 0x800fffff) | (1023 << 20));
  return { m: bits.getFloat64(0), e };
}
