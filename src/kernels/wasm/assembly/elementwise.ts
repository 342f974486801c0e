import { erfV, exp2NonPositive, expV, geluTanhV, geluV, sigmoidV, siluV, tanhV } from './math';

// Elementwise kernels: broadcasting binary ops with TFLite's fused
// activations, unary math, and GEGLU. Each op code is a constant argument of
// an inlined loop, so every (op, broadcast mode) pair compiles to its own
// branch-free loop.

// Binary op codes (../elementwise.ts mirrors them).
const ADD = 0, SUB = 1, MUL = 2, DIV = 3, SQUARED_DIFFERENCE = 4;
// Fused activation codes.
const ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3, ACT_TANH = 4;
// Unary op codes.
const EXP = 0, LOGISTIC = 1, TANH = 2, SILU = 3, GELU = 4, GELU_TANH = 5, ERF = 6, EXP2_NONPOSITIVE = 7;

// @ts-ignore: decorator
@inline
function binaryOp(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f32x4.add(a, b);
  if (op == SUB) return f32x4.sub(a, b);
  if (op == MUL) return f32x4.mul(a, b);
  if (op == DIV) return f32x4.div(a, b);
  const d = f32x4.sub(a, b);
  return f32x4.mul(d, d);
}

// @ts-ignore: decorator
@inline
function activate(act: i32, y: v128): v128 {
  if (act == ACT_NONE) return y;
  if (act == ACT_RELU) return f32x4.pmax(y, f32x4.splat(0));
  if (act == ACT_RELU_N1_TO_1) return f32x4.pmin(f32x4.pmax(y, f32x4.splat(-1)), f32x4.splat(1));
  if (act == ACT_RELU6) return f32x4.pmin(f32x4.pmax(y, f32x4.splat(0)), f32x4.splat(6));
  return tanhV(y);
}

/** out[i] = act(a[i*sa] op b[i*sb]) for i in [i0, i1); sa, sb are 1 or 0 (a broadcast scalar). */
// @ts-ignore: decorator
@inline
function binarySpan(op: i32, act: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, i0: i32, i1: i32): void {
  let i = i0;
  if (sa && sb) {
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, activate(act, binaryOp(op, v128.load(a + o), v128.load(b + o))));
    }
  } else if (sa) {
    const bv = v128.load32_splat(b);
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, activate(act, binaryOp(op, v128.load(a + o), bv)));
    }
  } else if (sb) {
    const av = v128.load32_splat(a);
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, activate(act, binaryOp(op, av, v128.load(b + o))));
    }
  }
  for (; i < i1; i++) {
    const av = v128.load32_splat(a + (<usize>(i * sa) << 2));
    const bv = v128.load32_splat(b + (<usize>(i * sb) << 2));
    store<f32>(out + (<usize>i << 2), f32x4.extract_lane(activate(act, binaryOp(op, av, bv)), 0));
  }
}

// @ts-ignore: decorator
@inline
function binaryRows(
  op: i32, act: i32, a: usize, b: usize, out: usize, rows: i32, inner: i32, sa: i32, sb: i32,
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
    binarySpan(op, act, a + (ao << 2), sa, b + (bo << 2), sb, out + ((<usize>r * <usize>inner) << 2), i0, i1);
  }
}

// @ts-ignore: decorator
@inline
function binaryWithOp(
  op: i32, act: i32, a: usize, b: usize, out: usize, rows: i32, inner: i32, sa: i32, sb: i32,
  aRow: i32, bRow: i32, offsets: usize, thread: i32, threads: i32,
): void {
  if (act == ACT_NONE) binaryRows(op, ACT_NONE, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else if (act == ACT_RELU) binaryRows(op, ACT_RELU, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else binaryRows(op, act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
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
  if (op == ADD) binaryWithOp(ADD, act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else if (op == SUB) binaryWithOp(SUB, act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else if (op == MUL) binaryWithOp(MUL, act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else if (op == DIV) binaryWithOp(DIV, act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
  else binaryWithOp(SQUARED_DIFFERENCE, act, a, b, out, rows, inner, sa, sb, aRow, bRow, offsets, thread, threads);
}

// @ts-ignore: decorator
@inline
function unaryOp(op: i32, x: v128): v128 {
  if (op == EXP) return expV(x);
  if (op == LOGISTIC) return sigmoidV(x);
  if (op == TANH) return tanhV(x);
  if (op == SILU) return siluV(x);
  if (op == GELU) return geluV(x);
  if (op == GELU_TANH) return geluTanhV(x);
  if (op == ERF) return erfV(x);
  return exp2NonPositive(x);
}

// @ts-ignore: decorator
@inline
function unarySpan(op: i32, x: usize, out: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, unaryOp(op, v128.load(x + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(unaryOp(op, v128.load32_splat(x + o)), 0));
  }
}

/** out[i] = f(x[i]) for n elements, split over threads in 4-element quads. */
export function unary(op: i32, x: usize, out: usize, n: i32, thread: i32, threads: i32): void {
  const quads = (n + 3) >> 2;
  const i0 = <i32>((<i64>thread * quads) / threads) * 4;
  const i1 = min(n, <i32>((<i64>(thread + 1) * quads) / threads) * 4);
  if (op == EXP) unarySpan(EXP, x, out, i0, i1);
  else if (op == LOGISTIC) unarySpan(LOGISTIC, x, out, i0, i1);
  else if (op == TANH) unarySpan(TANH, x, out, i0, i1);
  else if (op == SILU) unarySpan(SILU, x, out, i0, i1);
  else if (op == GELU) unarySpan(GELU, x, out, i0, i1);
  else if (op == GELU_TANH) unarySpan(GELU_TANH, x, out, i0, i1);
  else if (op == ERF) unarySpan(ERF, x, out, i0, i1);
  else unarySpan(EXP2_NONPOSITIVE, x, out, i0, i1);
}

// @ts-ignore: decorator
@inline
function gegluRows(approximate: bool, x: usize, out: usize, r0: i32, r1: i32, half: i32): void {
  const inRow = <usize>half << 3, outRow = <usize>half << 2;
  const end4 = <usize>(half & ~3) << 2;
  for (let r = r0; r < r1; r++) {
    const src = x + <usize>r * inRow, dst = out + <usize>r * outRow;
    let o: usize = 0;
    for (; o < end4; o += 16) {
      const g = v128.load(src + outRow + o);
      v128.store(dst + o, f32x4.mul(v128.load(src + o), approximate ? geluTanhV(g) : geluV(g)));
    }
    for (; o < outRow; o += 4) {
      const g = v128.load32_splat(src + outRow + o);
      store<f32>(dst + o, load<f32>(src + o) * f32x4.extract_lane(approximate ? geluTanhV(g) : geluV(g), 0));
    }
  }
}

/** GEGLU: x [rows, 2·half] -> out [rows, half] = x[:, :half] * gelu(x[:, half:]); rows split over threads. */
export function geglu(x: usize, out: usize, rows: i32, half: i32, approximate: i32, thread: i32, threads: i32): void {
  const r0 = <i32>((<i64>thread * rows) / threads), r1 = <i32>((<i64>(thread + 1) * rows) / threads);
  if (approximate) gegluRows(true, x, out, r0, r1, half);
  else gegluRows(false, x, out, r0, r1, half);
}
