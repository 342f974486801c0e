import {
  constant, erfV, exp2NonPositive, expV, geluTanhV, geluV, sigmoidV, siluV, tanhV,
  K_E2, K_E3, K_E4, K_E5, K_E6, K_ERF_MAX, K_EXP_HI, K_EXP_LO, K_GELU_CUBE, K_HALF, K_INF, K_LOG2E, K_MAGIC,
  K_MINUS_126, K_NEG_LN2_HI, K_NEG_LN2_LO, K_ONE, K_P0, K_P1, K_P2, K_P3, K_P4, K_P5, K_Q0, K_Q1, K_Q2, K_Q3, K_Q4,
  K_Q5, K_Q6, K_Q7, K_R0, K_R1, K_R2, K_R3, K_R4, K_R5, K_SIGN, K_SQRT1_2, K_SQRT_2_PI, K_T1, K_T2, K_T3, K_T4, K_T5,
  K_TANH_MAX, K_TANH_SMALL, K_TWO,
} from './math';

// Elementwise kernels: broadcasting binary ops with TFLite's fused
// activations, unary math, and GEGLU.
//
// Each op is a type parameter (the marker classes below), tested with
// idof<>() at compile time, so every op gets its own branch-free loop. (Op
// codes passed as constants into inlined loops do not survive: the
// optimiser folds the copies back into one loop that switches per vector.)

// Binary op codes (../elementwise.ts mirrors them).
const ADD = 0, SUB = 1, MUL = 2, DIV = 3;
// Fused activation codes.
const ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3, ACT_TANH = 4;
// Unary op codes.
const EXP = 0, LOGISTIC = 1, TANH = 2, SILU = 3, GELU = 4, GELU_TANH = 5, ERF = 6;

class Add {}
class Sub {}
class Mul {}
class Div {}
class SquaredDifference {}
class Exp {}
class Logistic {}
class Tanh {}
class Silu {}
class Gelu {}
class GeluTanh {}
class Erf {}
class Exp2NonPositive {}

// @ts-ignore: decorator
@inline
function binaryOp<Op>(a: v128, b: v128): v128 {
  if (idof<Op>() == idof<Add>()) return f32x4.add(a, b);
  if (idof<Op>() == idof<Sub>()) return f32x4.sub(a, b);
  if (idof<Op>() == idof<Mul>()) return f32x4.mul(a, b);
  if (idof<Op>() == idof<Div>()) return f32x4.div(a, b);
  const d = f32x4.sub(a, b);
  return f32x4.mul(d, d);
}

/** TFLite's fused clamps (`act`, a run-time code): ACT_RELU, ACT_RELU_N1_TO_1, else ACT_RELU6. */
// @ts-ignore: decorator
@inline
function clamp(act: i32, y: v128): v128 {
  if (act == ACT_RELU) return f32x4.pmax(y, f32x4.splat(0));
  if (act == ACT_RELU_N1_TO_1) return f32x4.pmin(f32x4.pmax(y, f32x4.splat(-1)), f32x4.splat(1));
  return f32x4.pmin(f32x4.pmax(y, f32x4.splat(0)), f32x4.splat(6));
}

/** out[i] = act(a[i*sa] op b[i*sb]) for i in [i0, i1); sa, sb are 1 or 0 (a broadcast scalar). */
function binarySpan<Op>(act: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, i0: i32, i1: i32): void {
  let i = i0;
  if (act == ACT_NONE) {
    if (sa && sb) {
      for (; i + 4 <= i1; i += 4) {
        const o = <usize>i << 2;
        v128.store(out + o, binaryOp<Op>(v128.load(a + o), v128.load(b + o)));
      }
    } else if (sa) {
      const bv = v128.load32_splat(b);
      for (; i + 4 <= i1; i += 4) {
        const o = <usize>i << 2;
        v128.store(out + o, binaryOp<Op>(v128.load(a + o), bv));
      }
    } else if (sb) {
      const av = v128.load32_splat(a);
      for (; i + 4 <= i1; i += 4) {
        const o = <usize>i << 2;
        v128.store(out + o, binaryOp<Op>(av, v128.load(b + o)));
      }
    }
    for (; i < i1; i++) {
      const av = v128.load32_splat(a + (<usize>(i * sa) << 2));
      const bv = v128.load32_splat(b + (<usize>(i * sb) << 2));
      store<f32>(out + (<usize>i << 2), f32x4.extract_lane(binaryOp<Op>(av, bv), 0));
    }
    return;
  }
  if (act != ACT_TANH) {
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      const av = sa ? v128.load(a + o) : v128.load32_splat(a);
      const bv = sb ? v128.load(b + o) : v128.load32_splat(b);
      v128.store(out + o, clamp(act, binaryOp<Op>(av, bv)));
    }
    for (; i < i1; i++) {
      const av = v128.load32_splat(a + (<usize>(i * sa) << 2));
      const bv = v128.load32_splat(b + (<usize>(i * sb) << 2));
      store<f32>(out + (<usize>i << 2), f32x4.extract_lane(clamp(act, binaryOp<Op>(av, bv)), 0));
    }
    return;
  }
  // tanhV's constants (math.ts: loaded before the loop).
  const t5 = constant(K_T5), t4 = constant(K_T4), t3 = constant(K_T3), t2 = constant(K_T2), t1 = constant(K_T1);
  const tanhMax = constant(K_TANH_MAX), tanhSmall = constant(K_TANH_SMALL), sign = constant(K_SIGN);
  const log2e = constant(K_LOG2E), magic = constant(K_MAGIC), negLn2Hi = constant(K_NEG_LN2_HI), negLn2Lo = constant(K_NEG_LN2_LO);
  const e6 = constant(K_E6), e5 = constant(K_E5), e4 = constant(K_E4), e3 = constant(K_E3), e2 = constant(K_E2);
  const one = constant(K_ONE), half = constant(K_HALF), two = constant(K_TWO);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const av = sa ? v128.load(a + o) : v128.load32_splat(a);
    const bv = sb ? v128.load(b + o) : v128.load32_splat(b);
    v128.store(out + o, tanhV(binaryOp<Op>(av, bv), t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two));
  }
  for (; i < i1; i++) {
    const av = v128.load32_splat(a + (<usize>(i * sa) << 2));
    const bv = v128.load32_splat(b + (<usize>(i * sb) << 2));
    const y = tanhV(binaryOp<Op>(av, bv), t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
    store<f32>(out + (<usize>i << 2), f32x4.extract_lane(y, 0));
  }
}

function binaryRows<Op>(
  act: i32, a: usize, b: usize, out: usize, rows: i32, inner: i32, sa: i32, sb: i32,
  aRow: i32, bRow: i32, offsets: usize, thread: i32, threads: i32,
): void {
  // Many rows: each thread takes whole rows. Few rows: each thread takes a 4-aligned part of every row.
  const byRows = rows >= threads;
  const r0 = byRows ? <i32>((<i64>thread * rows) / threads) : 0;
  const r1 = byRows ? <i32>((<i64>(thread + 1) * rows) / threads) : rows;
  const quads = (inner + 3) >> 2;
  const i0 = byRows ? 0 : <i32>((<i64>thread * quads) / threads) * 4;
  const i1 = byRows ? inner : min(inner, <i32>((<i64>(thread + 1) * quads) / threads) * 4);
  for (let r = r0; r < r1; r++) {
    const ao = offsets ? <usize>load<i32>(offsets + (<usize>r << 3)) : <usize>r * <usize>aRow;
    const bo = offsets ? <usize>load<i32>(offsets + (<usize>r << 3), 4) : <usize>r * <usize>bRow;
    binarySpan<Op>(act, a + (ao << 2), sa, b + (bo << 2), sb, out + ((<usize>r * <usize>inner) << 2), i0, i1);
  }
}

/**
 * out [rows, inner] = act(a op b). Row r reads a at element offset
 * offsets[2r] (or r * aRow when offsets is 0) and b at offsets[2r+1] (or
 * r * bRow); within a row a advances by sa (1, or 0 for a broadcast scalar)
 * and b by sb. Same-shape, scalar and per-channel broadcasts need no offsets
 * table; other broadcasts pass one (int32 pairs).
 */
export function binary(
  op: i32, act: i32, a: usize, b: usize, out: usize, rows: i32, inner: i32, sa: i32, sb: i32,
  aRow: i32, bRow: i32, offsets: usize, thread: i32, threads: i32,
): void {
  if (op == ADD) binaryRows<Add>(act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else if (op == SUB) binaryRows<Sub>(act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else if (op == MUL) binaryRows<Mul>(act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else if (op == DIV) binaryRows<Div>(act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else binaryRows<SquaredDifference>(act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
}

/**
 * op(x); the other parameters are the constants of math.ts (named after its
 * K_ indices), which the loops below load before their loop so that no V8
 * rebuilds them per use (math.ts). Each op uses only its own.
 */
// @ts-ignore: decorator
@inline
function unaryOp<Op>(
  x: v128,
  lo: v128, hi: v128, inf: v128, log2e: v128, magic: v128, negLn2Hi: v128, negLn2Lo: v128, e6: v128, e5: v128,
  e4: v128, e3: v128, e2: v128, one: v128, half: v128, two: v128, minus126: v128, p5: v128, p4: v128, p3: v128,
  p2: v128, p1: v128, p0: v128, t5: v128, t4: v128, t3: v128, t2: v128, t1: v128, tanhMax: v128, tanhSmall: v128,
  sign: v128, r5: v128, r4: v128, r3: v128, r2: v128, r1: v128, r0: v128, erfMax: v128, q7: v128, q6: v128, q5: v128,
  q4: v128, q3: v128, q2: v128, q1: v128, q0: v128, sqrt1_2: v128, sqrt2Pi: v128, cube: v128,
): v128 {
  if (idof<Op>() == idof<Exp>()) return expV(x, lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  if (idof<Op>() == idof<Logistic>()) return sigmoidV(x, lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  if (idof<Op>() == idof<Tanh>()) return tanhV(x, t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  if (idof<Op>() == idof<Silu>()) return siluV(x, lo, hi, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  if (idof<Op>() == idof<Gelu>()) return geluV(x, sqrt1_2, half, r5, r4, r3, r2, r1, r0, erfMax, q7, q6, q5, q4, q3, q2, q1, q0, sign, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one);
  if (idof<Op>() == idof<GeluTanh>()) return geluTanhV(x, sqrt2Pi, cube, t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two);
  if (idof<Op>() == idof<Erf>()) return erfV(x, r5, r4, r3, r2, r1, r0, erfMax, q7, q6, q5, q4, q3, q2, q1, q0, sign, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one);
  return exp2NonPositive(x, minus126, magic, p5, p4, p3, p2, p1, p0);
}

function unarySpan<Op>(x: usize, out: usize, i0: i32, i1: i32): void {
  const lo = constant(K_EXP_LO), hi = constant(K_EXP_HI), inf = constant(K_INF), log2e = constant(K_LOG2E);
  const magic = constant(K_MAGIC), negLn2Hi = constant(K_NEG_LN2_HI), negLn2Lo = constant(K_NEG_LN2_LO);
  const e6 = constant(K_E6), e5 = constant(K_E5), e4 = constant(K_E4), e3 = constant(K_E3), e2 = constant(K_E2);
  const one = constant(K_ONE), half = constant(K_HALF), two = constant(K_TWO), minus126 = constant(K_MINUS_126);
  const p5 = constant(K_P5), p4 = constant(K_P4), p3 = constant(K_P3), p2 = constant(K_P2), p1 = constant(K_P1);
  const p0 = constant(K_P0), t5 = constant(K_T5), t4 = constant(K_T4), t3 = constant(K_T3), t2 = constant(K_T2);
  const t1 = constant(K_T1), tanhMax = constant(K_TANH_MAX), tanhSmall = constant(K_TANH_SMALL);
  const sign = constant(K_SIGN), r5 = constant(K_R5), r4 = constant(K_R4), r3 = constant(K_R3), r2 = constant(K_R2);
  const r1 = constant(K_R1), r0 = constant(K_R0), erfMax = constant(K_ERF_MAX), q7 = constant(K_Q7);
  const q6 = constant(K_Q6), q5 = constant(K_Q5), q4 = constant(K_Q4), q3 = constant(K_Q3), q2 = constant(K_Q2);
  const q1 = constant(K_Q1), q0 = constant(K_Q0), sqrt1_2 = constant(K_SQRT1_2), sqrt2Pi = constant(K_SQRT_2_PI);
  const cube = constant(K_GELU_CUBE);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, unaryOp<Op>(v128.load(x + o), lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two, minus126, p5, p4, p3, p2, p1, p0, t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, r5, r4, r3, r2, r1, r0, erfMax, q7, q6, q5, q4, q3, q2, q1, q0, sqrt1_2, sqrt2Pi, cube));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const y = unaryOp<Op>(v128.load32_splat(x + o), lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two, minus126, p5, p4, p3, p2, p1, p0, t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, r5, r4, r3, r2, r1, r0, erfMax, q7, q6, q5, q4, q3, q2, q1, q0, sqrt1_2, sqrt2Pi, cube);
    store<f32>(out + o, f32x4.extract_lane(y, 0));
  }
}

/** out[i] = f(x[i]) for n elements, split over threads in 4-element quads. */
export function unary(op: i32, x: usize, out: usize, n: i32, thread: i32, threads: i32): void {
  const quads = (n + 3) >> 2;
  const i0 = <i32>((<i64>thread * quads) / threads) * 4;
  const i1 = min(n, <i32>((<i64>(thread + 1) * quads) / threads) * 4);
  if (op == EXP) unarySpan<Exp>(x, out, i0, i1);
  else if (op == LOGISTIC) unarySpan<Logistic>(x, out, i0, i1);
  else if (op == TANH) unarySpan<Tanh>(x, out, i0, i1);
  else if (op == SILU) unarySpan<Silu>(x, out, i0, i1);
  else if (op == GELU) unarySpan<Gelu>(x, out, i0, i1);
  else if (op == GELU_TANH) unarySpan<GeluTanh>(x, out, i0, i1);
  else if (op == ERF) unarySpan<Erf>(x, out, i0, i1);
  else unarySpan<Exp2NonPositive>(x, out, i0, i1);
}

/** Rows [row0, row1) of GEGLU with the GELU `Op` (Gelu or GeluTanh). */
function gegluRows<Op>(x: usize, out: usize, row0: i32, row1: i32, half: i32): void {
  const inRow = <usize>half << 3, outRow = <usize>half << 2;
  const end4 = <usize>(half & ~3) << 2;
  const lo = constant(K_EXP_LO), hi = constant(K_EXP_HI), inf = constant(K_INF), log2e = constant(K_LOG2E);
  const magic = constant(K_MAGIC), negLn2Hi = constant(K_NEG_LN2_HI), negLn2Lo = constant(K_NEG_LN2_LO);
  const e6 = constant(K_E6), e5 = constant(K_E5), e4 = constant(K_E4), e3 = constant(K_E3), e2 = constant(K_E2);
  const one = constant(K_ONE), halfC = constant(K_HALF), two = constant(K_TWO), minus126 = constant(K_MINUS_126);
  const p5 = constant(K_P5), p4 = constant(K_P4), p3 = constant(K_P3), p2 = constant(K_P2), p1 = constant(K_P1);
  const p0 = constant(K_P0), t5 = constant(K_T5), t4 = constant(K_T4), t3 = constant(K_T3), t2 = constant(K_T2);
  const t1 = constant(K_T1), tanhMax = constant(K_TANH_MAX), tanhSmall = constant(K_TANH_SMALL);
  const sign = constant(K_SIGN), r5 = constant(K_R5), r4 = constant(K_R4), r3 = constant(K_R3), r2 = constant(K_R2);
  const r1 = constant(K_R1), r0 = constant(K_R0), erfMax = constant(K_ERF_MAX), q7 = constant(K_Q7);
  const q6 = constant(K_Q6), q5 = constant(K_Q5), q4 = constant(K_Q4), q3 = constant(K_Q3), q2 = constant(K_Q2);
  const q1 = constant(K_Q1), q0 = constant(K_Q0), sqrt1_2 = constant(K_SQRT1_2), sqrt2Pi = constant(K_SQRT_2_PI);
  const cube = constant(K_GELU_CUBE);
  for (let r = row0; r < row1; r++) {
    const src = x + <usize>r * inRow, dst = out + <usize>r * outRow;
    let o: usize = 0;
    for (; o < end4; o += 16) {
      v128.store(dst + o, f32x4.mul(v128.load(src + o), unaryOp<Op>(
        v128.load(src + outRow + o),
        lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, halfC, two, minus126, p5, p4, p3, p2, p1, p0, t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, r5, r4, r3, r2, r1, r0, erfMax, q7, q6, q5, q4, q3, q2, q1, q0, sqrt1_2, sqrt2Pi, cube,
      )));
    }
    for (; o < outRow; o += 4) {
      const g = unaryOp<Op>(
        v128.load32_splat(src + outRow + o),
        lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, halfC, two, minus126, p5, p4, p3, p2, p1, p0, t5, t4, t3, t2, t1, tanhMax, tanhSmall, sign, r5, r4, r3, r2, r1, r0, erfMax, q7, q6, q5, q4, q3, q2, q1, q0, sqrt1_2, sqrt2Pi, cube,
      );
      store<f32>(dst + o, load<f32>(src + o) * f32x4.extract_lane(g, 0));
    }
  }
}

/** GEGLU: x [rows, 2·half] -> out [rows, half] = x[:, :half] * gelu(x[:, half:]); rows split over threads. */
export function geglu(x: usize, out: usize, rows: i32, half: i32, approximate: i32, thread: i32, threads: i32): void {
  const r0 = <i32>((<i64>thread * rows) / threads), r1 = <i32>((<i64>(thread + 1) * rows) / threads);
  if (approximate) gegluRows<GeluTanh>(x, out, r0, r1, half);
  else gegluRows<Gelu>(x, out, r0, r1, half);
}
