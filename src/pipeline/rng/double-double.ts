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

/** ln 2 as a double-double. */
export const LN2: DD = { hi: 0.6931471805599453, lo: 2.3190468138462996e-17 };

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

const EXP_SQUARINGS = 8;
const EXP_TERMS = 12;

/** exp(y) as a double-double, for |y| < 0.5: Taylor series of expm1(y/2^8), then 8 squarings. */
export function expDD(y: number): DD {
  const s = y / 2 ** EXP_SQUARINGS; // exact
  // expm1(s) = s·(1 + s/2·(1 + s/3·(1 + …))) by Horner in double-double.
  let acc: DD = { hi: 1, lo: 0 };
  for (let n = EXP_TERMS; n >= 2; n--) {
    acc = ddAdd({ hi: 1, lo: 0 }, ddMulNumber(ddDivSmallInt(acc, n), s));
  }
  let em1 = ddMulNumber(acc, s);
  // (1 + em1)^2 = 1 + em1·(2 + em1): stay in expm1 form to keep the low bits.
  for (let i = 0; i < EXP_SQUARINGS; i++) {
    em1 = ddMul(em1, ddAdd({ hi: 2, lo: 0 }, em1));
  }
  return ddAdd({ hi: 1, lo: 0 }, em1);
}

/** a / n for a small positive integer n. */
function ddDivSmallInt(a: DD, n: number): DD {
  const q1 = a.hi / n;
  const p = twoProd(q1, n);
  const q2 = (a.hi - p.hi - p.lo + a.lo) / n;
  return twoSum(q1, q2);
}
