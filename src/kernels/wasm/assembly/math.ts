import { madd } from './simd';

// Clamps use pmin/pmax (one x86 instruction each; NaN passes through when it
// is the first operand), not min/max, whose NaN and signed-zero rules cost V8
// several instructions.
//
// Vector math on four f32 lanes: exp, exp2 for softmax, sigmoid, SiLU, tanh,
// erf and GELU. The polynomial coefficients were fitted for this project
// (weighted least squares on Chebyshev nodes, then checked in float32
// Horner arithmetic); the maximum errors measured over the stated ranges are
// noted beside each function and tested in test/kernels/wasm-elementwise.test.ts.
//
// Constants come from memory, once per kernel call: V8 13.6 (Node 24)
// rebuilds a v128 constant (f32x4.splat of a literal) before every use inside
// a loop, three instructions each, where V8 11.3 and 12.4 (Node 20, 22) keep
// it in a register; loading it from memory at every use instead slows Node
// 20 and 22. So the constants are f32s in static data (MATH_DATA), a kernel
// splats the ones it needs into locals before its loop (`constant(K_...)`)
// and passes them to the inlined functions below, and every V8 then keeps
// them in registers (or spills them) like any other value
// (docs/node-versions.md). The parameters are named after the K_ indices.

const LOG2E: f32 = 1.4426950408889634;
/** ln 2 split so that n * LN2_HI is exact for |n| < 2^10 (Cody-Waite). */
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-6;
/** 1.5 * 2^23: adding it rounds a float in (-2^22, 2^22) to an integer in the low mantissa bits. */
const ROUND_MAGIC: f32 = 12582912.0;

/** The constants of this file, one f32 each, at the K_ indices below. */
const MATH_DATA: usize = memory.data<f32>([
  // e^x (expInRange, expReduced's polynomial from the highest degree; 1)
  LOG2E, ROUND_MAGIC, -LN2_HI, -LN2_LO,
  0.001383683062158525, 0.008374815806746483, 0.04166822507977486, 0.16666419804096222, 0.49999991059303284, 1.0,
  // 0.5, whose bit pattern is 126 << 23 (expInRange's exponent bias), and 2; the clamp range; +inf
  0.5, 2.0, -86.5, 88.72, Infinity,
  // exp2NonPositive: the lower clamp, then the polynomial of 2^f from the highest degree
  -126.0, 0.0013276452664285898, 0.009675541892647743, 0.05550713464617729, 0.24022120237350464,
  0.6931469440460205, 1.0000001192092896,
  // tanhV: P from the highest degree (its last is 1), the clamp, where the small branch ends; -0 (the sign bit)
  -0.005659972783178091, 0.020590974017977715, -0.05372106283903122, 0.13331127166748047, -0.3333325982093811,
  9.5, 0.625, -0.0,
  // erfV: P from the highest degree, the clamp, Q from the highest degree
  -0.0005631409585475922, 0.004917548503726721, -0.02671130932867527, 0.11280179768800735, -0.37612324953079224,
  1.1283791065216064, 3.92,
  -0.01713644340634346, 0.11781740933656693, -0.34943562746047974, 0.5714768767356873, -0.5036437511444092,
  0.05030757561326027, 0.5578555464744568, 0.00034202003735117614,
  // GELU: 1/sqrt(2); the tanh form's sqrt(2/pi) and 0.044715
  0.7071067811865476, 0.7978845608028654, 0.044715,
], 16);

export const K_LOG2E = 0, K_MAGIC = 1, K_NEG_LN2_HI = 2, K_NEG_LN2_LO = 3;
export const K_E6 = 4, K_E5 = 5, K_E4 = 6, K_E3 = 7, K_E2 = 8, K_ONE = 9;
export const K_HALF = 10, K_TWO = 11, K_EXP_LO = 12, K_EXP_HI = 13, K_INF = 14;
export const K_MINUS_126 = 15, K_P5 = 16, K_P4 = 17, K_P3 = 18, K_P2 = 19, K_P1 = 20, K_P0 = 21;
export const K_T5 = 22, K_T4 = 23, K_T3 = 24, K_T2 = 25, K_T1 = 26, K_TANH_MAX = 27, K_TANH_SMALL = 28, K_SIGN = 29;
export const K_R5 = 30, K_R4 = 31, K_R3 = 32, K_R2 = 33, K_R1 = 34, K_R0 = 35, K_ERF_MAX = 36;
export const K_Q7 = 37, K_Q6 = 38, K_Q5 = 39, K_Q4 = 40, K_Q3 = 41, K_Q2 = 42, K_Q1 = 43, K_Q0 = 44;
export const K_SQRT1_2 = 45, K_SQRT_2_PI = 46, K_GELU_CUBE = 47;

/** Constant number `i` of MATH_DATA in all four lanes (load it before a loop, not in it). */
// @ts-ignore: decorator
@inline
export function constant(i: i32): v128 {
  return v128.load32_splat(MATH_DATA + (<usize>i << 2));
}

/** 2^f for |f| <= 1/2: degree-5 polynomial, under 2 ulp. */
// @ts-ignore: decorator
@inline
export function exp2Fraction(f: v128, p5: v128, p4: v128, p3: v128, p2: v128, p1: v128, p0: v128): v128 {
  let p = madd(p5, f, p4);
  p = madd(p, f, p3);
  p = madd(p, f, p2);
  p = madd(p, f, p1);
  return madd(p, f, p0);
}

/**
 * 2^x for x <= 0, as the online softmax of attention uses it. Inputs below
 * -126 (including -inf) give a value of at most 2^-126, never 0 or NaN.
 * Error on [-126, 0]: under 2 ulp (degree-5 polynomial of 2^f, |f| <= 1/2).
 */
// @ts-ignore: decorator
@inline
export function exp2NonPositive(
  x: v128, minus126: v128, magic: v128, p5: v128, p4: v128, p3: v128, p2: v128, p1: v128, p0: v128,
): v128 {
  x = f32x4.pmax(x, minus126);
  const t = f32x4.add(x, magic);
  const f = f32x4.sub(x, f32x4.sub(t, magic));
  const p = exp2Fraction(f, p5, p4, p3, p2, p1, p0);
  // The low 9 bits of t's pattern are n (two's complement): n << 23 adds n to p's exponent.
  return i32x4.add(p, i32x4.shl(t, 23));
}

/** e^r for |r| <= ln2/2 (degree 6, under 1 ulp). */
// @ts-ignore: decorator
@inline
function expReduced(r: v128, e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128): v128 {
  let p = madd(e6, r, e5);
  p = madd(p, r, e4);
  p = madd(p, r, e3);
  p = madd(p, r, e2);
  p = madd(p, r, one);
  return madd(p, r, one);
}

/**
 * e^x for x in [-86.5, 88.72] (no range checks): n = round(x / ln 2) by the
 * magic-number trick, whose low mantissa bits then give 2^n directly.
 */
// @ts-ignore: decorator
@inline
function expInRange(
  x: v128, log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128,
  e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128, half: v128, two: v128,
): v128 {
  const t = madd(x, log2e, magic);
  const n = f32x4.sub(t, magic);
  const r = madd(n, negLn2Lo, madd(n, negLn2Hi, x));
  // 2^(n-1) * 2, so that n = 128 (x near 88.7) still has a normal scale factor
  // (half's bit pattern is 126 << 23).
  const scale = i32x4.add(i32x4.shl(t, 23), half);
  return f32x4.mul(f32x4.mul(expReduced(r, e6, e5, e4, e3, e2, one), scale), two);
}

/** e^x with x clamped to [lo, hi] = [-86.5, 88.72]: ~3e-38 for smaller x and FLT_MAX-ish for larger. */
// @ts-ignore: decorator
@inline
function expClamped(
  x: v128, lo: v128, hi: v128, log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128,
  e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128, half: v128, two: v128,
): v128 {
  return expInRange(f32x4.pmin(f32x4.pmax(x, lo), hi), log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
}

/**
 * e^x, under 2 ulp for x in [-86.5, 88.7]; +inf above 88.72, 0 below -86.5
 * (where the exact value is under 3e-38), NaN for NaN.
 */
// @ts-ignore: decorator
@inline
export function expV(
  x: v128, lo: v128, hi: v128, inf: v128, log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128,
  e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128, half: v128, two: v128,
): v128 {
  let y = expClamped(x, lo, hi, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  y = v128.bitselect(inf, y, f32x4.gt(x, hi));
  return v128.andnot(y, f32x4.lt(x, lo));
}

/** 1 / (1 + e^-x). */
// @ts-ignore: decorator
@inline
export function sigmoidV(
  x: v128, lo: v128, hi: v128, inf: v128, log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128,
  e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128, half: v128, two: v128,
): v128 {
  const e = expV(f32x4.neg(x), lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  return f32x4.div(one, f32x4.add(one, e));
}

/**
 * x * sigmoid(x) = x / (1 + e^-x). The exponent is clamped rather than
 * range-checked: below x = -88.7 the result is about x * 3e-39 instead of
 * x * e^x, both negligible.
 */
// @ts-ignore: decorator
@inline
export function siluV(
  x: v128, lo: v128, hi: v128, log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128,
  e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128, half: v128, two: v128,
): v128 {
  const e = expClamped(f32x4.neg(x), lo, hi, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  return f32x4.div(x, f32x4.add(one, e));
}

/** e^x for x in [-16, 0] without range checks (inside erf; one's bit pattern is 127 << 23, the exponent bias). */
// @ts-ignore: decorator
@inline
function expSmallNegative(
  x: v128, log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128,
  e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128,
): v128 {
  const t = madd(x, log2e, magic);
  const n = f32x4.sub(t, magic);
  const r = madd(n, negLn2Lo, madd(n, negLn2Hi, x));
  return f32x4.mul(expReduced(r, e6, e5, e4, e3, e2, one), i32x4.add(i32x4.shl(t, 23), one));
}

/**
 * tanh: x * P(x^2) for |x| < 0.625 (relative error 1e-7), else
 * sign(x) * (1 - 2 / (e^(2|x|) + 1)) (1.3e-7), with |x| clamped to 9.5, past
 * which tanh rounds to 1. P's coefficients: t5..t1, one.
 */
// @ts-ignore: decorator
@inline
export function tanhV(
  x: v128, t5: v128, t4: v128, t3: v128, t2: v128, t1: v128, tanhMax: v128, tanhSmall: v128, sign: v128,
  log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128,
  e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128, half: v128, two: v128,
): v128 {
  const a = f32x4.abs(x);
  const x2 = f32x4.mul(x, x);
  let p = madd(t5, x2, t4);
  p = madd(p, x2, t3);
  p = madd(p, x2, t2);
  p = madd(p, x2, t1);
  p = madd(p, x2, one);
  const small = f32x4.mul(x, p);
  const a9 = f32x4.pmin(a, tanhMax);
  const e = expInRange(f32x4.add(a9, a9), log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  const big = f32x4.sub(one, f32x4.div(two, f32x4.add(e, one)));
  const signed = v128.or(big, v128.and(x, sign));
  return v128.bitselect(small, signed, f32x4.lt(a, tanhSmall));
}

/**
 * erf: x * P(x^2) for |x| < 1 (relative error 1.7e-7); else
 * sign(x) * (1 - e^(-x^2) * Q(1/|x|)) with |x| clamped to 3.92, past which
 * erf rounds to +-1 (relative error 1e-7). P: r5..r0; Q: q7..q0.
 */
// @ts-ignore: decorator
@inline
export function erfV(
  x: v128, r5: v128, r4: v128, r3: v128, r2: v128, r1: v128, r0: v128, erfMax: v128,
  q7: v128, q6: v128, q5: v128, q4: v128, q3: v128, q2: v128, q1: v128, q0: v128, sign: v128,
  log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128, e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128,
): v128 {
  const x2 = f32x4.mul(x, x);
  let p = madd(r5, x2, r4);
  p = madd(p, x2, r3);
  p = madd(p, x2, r2);
  p = madd(p, x2, r1);
  p = madd(p, x2, r0);
  const small = f32x4.mul(x, p);

  const a = f32x4.pmin(f32x4.pmax(f32x4.abs(x), one), erfMax);
  const t = f32x4.div(one, a);
  let q = madd(q7, t, q6);
  q = madd(q, t, q5);
  q = madd(q, t, q4);
  q = madd(q, t, q3);
  q = madd(q, t, q2);
  q = madd(q, t, q1);
  q = madd(q, t, q0);
  const e = expSmallNegative(f32x4.neg(f32x4.mul(a, a)), log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one);
  const big = f32x4.sub(one, f32x4.mul(e, q));
  const signed = v128.or(big, v128.and(x, sign));
  return v128.bitselect(small, signed, f32x4.lt(f32x4.abs(x), one));
}

/** Exact GELU: x/2 * (1 + erf(x / sqrt 2)). */
// @ts-ignore: decorator
@inline
export function geluV(
  x: v128, sqrt1_2: v128, half: v128, r5: v128, r4: v128, r3: v128, r2: v128, r1: v128, r0: v128, erfMax: v128,
  q7: v128, q6: v128, q5: v128, q4: v128, q3: v128, q2: v128, q1: v128, q0: v128, sign: v128,
  log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128, e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128,
): v128 {
  const e = erfV(
    f32x4.mul(x, sqrt1_2), r5, r4, r3, r2, r1, r0, erfMax, q7, q6, q5, q4, q3, q2, q1, q0, sign,
    log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one,
  );
  return f32x4.mul(f32x4.mul(x, half), f32x4.add(e, one));
}

/** GELU's tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
// @ts-ignore: decorator
@inline
export function geluTanhV(
  x: v128, sqrt2Pi: v128, cube: v128,
  t5: v128, t4: v128, t3: v128, t2: v128, t1: v128, tanhMax: v128, tanhSmall: v128, sign: v128,
  log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128,
  e6: v128, e5: v128, e4: v128, e3: v128, e2: v128, one: v128, half: v128, two: v128,
): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  const inner = f32x4.mul(sqrt2Pi, madd(x3, cube, x));
  const th = tanhV(inner, t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  return f32x4.mul(f32x4.mul(x, half), f32x4.add(th, one));
}

/** Sum of the four lanes, in the fixed order (l0 + l1) + (l2 + l3). */
// @ts-ignore: decorator
@inline
export function sumLanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Largest of the four lanes. */
// @ts-ignore: decorator
@inline
export function maxLanes(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}
