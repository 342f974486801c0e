/**
 * Double-double arithmetic: a value is the unevaluated sum hi + lo of two
 * doubles with |lo| <= ulp(hi)/2, about 106 bits of precision. Used to decide
 * the correct rounding of a float64 result (see correctly-rounded-log.ts).
 * Error-free transformations after Knuth (TwoSum) and Dekker (split, TwoProduct).
 */
export interface DD {
  hi: number;
  lo: number;
}

/** hi + lo = a + b exactly, with hi = fl(a + b). */
export function twoSum(a: number, b: number): DD {
  const hi = a + b;
  const bb = hi - a;
  const lo = a - (hi - bb) + (b - bb);
  return { hi, lo };
}

const SPLITTER = 134217729; // 2^27 + 1

/** hi + lo = a · b exactly (for products that neither overflow nor underflow). */
export function twoProd(a: number, b: number): DD {
  const hi = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const lo = ah * bh - hi + ah * bl + al * bh + al * bl;
  return { hi, lo };
}

function renormalize(hi: number, lo: number): DD {
  const s = hi + lo;
  return { hi: s, lo: lo - (s - hi) };
}

export function ddAdd(a: DD, b: DD): DD {
  const s = twoSum(a.hi, b.hi);
  const t = twoSum(a.lo, b.lo);
  let lo = s.lo + t.hi;
  const u = renormalize(s.hi, lo);
  lo = u.lo + t.lo;
  return renormalize(u.hi, lo);
}

export function ddMul(a: DD, b: DD): DD {
  const p = twoProd(a.hi, b.hi);
  return renormalize(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

/** a · b where b is a double. */
export function ddMulNumber(a: DD, b: number): DD {
  const p = twoProd(a.hi, b);
  return renormalize(p.hi, p.lo + a.lo * b);
}
