import { ddAdd, ddMulNumber, expDD, LN2, twoProd, twoSum } from './double-double.js';

/**
 * e^x rounded to the nearest double (V8's Math.exp is sometimes 1 ulp off;
 * numpy's float64 exp, glibc's and SVML's, is correctly rounded in nearly
 * all cases). x = k·ln2 + r with r in double-double, e^r by expDD, times 2^k.
 * For |x| <= 708, the range the sampler schedules need (others: Math.exp).
 */
export function correctlyRoundedExp(x: number): number {
  if (!(Math.abs(x) <= 708)) return Math.exp(x);
  const k = Math.round(x / LN2.hi);
  // r = x − k·ln2 exactly enough: k·ln2_hi is split error-free, x − its high part is exact (Sterbenz).
  const p = twoProd(k, LN2.hi);
  const r = ddAdd(twoSum(x - p.hi, -p.lo), { hi: -k * LN2.lo, lo: 0 });
  // e^(r_hi + r_lo) = e^(r_hi) · (1 + r_lo) to ~2^-110 since |r_lo| < 2^-50.
  const e = expDD(r.hi);
  const scaled = ddAdd(e, ddMulNumber(e, r.lo));
  return (scaled.hi + scaled.lo) * 2 ** k;
}
