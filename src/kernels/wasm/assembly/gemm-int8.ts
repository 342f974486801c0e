// Dynamic-range ("hybrid") int8 GEMM: C[M,N] = A[M,K] · W[N,K]ᵀ with int8
// weights (symmetric, per output channel) and float activations quantized
// per row at run time, as TFLite's hybrid FULLY_CONNECTED does.
//
// Two integer layouts (src/kernels/wasm/gemm-int8-pack.ts packs the weights):
// - 'i16' (both variants): activation rows as int16, weights in panels of 8
//   columns x (K/2) pairs, 16 bytes per pair step; the weights are
//   sign-extended to int16 as they are loaded (v128.load8x8_s, one
//   instruction) and i32x4.dot_i16x8_s adds two k steps per lane.
// - 'u7' (relaxed variant only): activation rows as bytes in [0, 127] (the
//   7-bit operand of i16x8.relaxed_dot_i8x16_i7x16_s: engines may read a
//   byte with its top bit set as signed or unsigned), weights in panels of 8
//   columns x (K/4) quads, 32 bytes per quad step; four k steps per lane.
// K is padded to Kp (a multiple of 8) with zero weights.
//
// Per row r: x ≈ scale_r · (q - zp_r), q of 7 ('u7') or 8 to 16 bits
// ('i16': int16 lanes hold up to 16-bit activations at the same speed; the
// caller keeps 2^bits · 128 · K below 2^31, so Σ (q - zp)·qw fits in i32:
// the wrapping i32 sums then give it exactly). Per column n: w = wscale_n · qw.
// C[r,n] = f32(Σ q·qw - zp_r · Σ_k qw) · (scale_r · wscale_n) + bias_n,
// clamped. The integer sum is exact and the float epilogue has a fixed
// order, so results are bit-identical for any thread count.

/** Most rows per chunk (as the float GEMM). */
const MC: i32 = 128;
/** Chunks the work is cut into (at least). */
const MIN_CHUNKS: i32 = 16;

/**
 * [min, max] of a row as lanes 0 and 1 (0 always inside), NaN for both when
 * it holds NaN or ±Inf. pmin/pmax are one instruction each on x64 (min/max
 * with NaN semantics are a sequence); a NaN they would skip is caught by
 * or-ing the bits of v - v, zero unless v is NaN or infinite.
 */
// @ts-ignore: decorator
@inline
function rowMinMax(x: usize, k: i32): v128 {
  let lo = f32x4.splat(0), hi = f32x4.splat(0), bad = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= k; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    lo = f32x4.pmin(v, lo);
    hi = f32x4.pmax(v, hi);
    bad = v128.or(bad, f32x4.sub(v, v));
  }
  let l = min(min(f32x4.extract_lane(lo, 0), f32x4.extract_lane(lo, 1)), min(f32x4.extract_lane(lo, 2), f32x4.extract_lane(lo, 3)));
  let h = max(max(f32x4.extract_lane(hi, 0), f32x4.extract_lane(hi, 1)), max(f32x4.extract_lane(hi, 2), f32x4.extract_lane(hi, 3)));
  for (; i < k; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    l = min(l, v);
    h = max(h, v);
  }
  if (v128.any_true(bad)) l = h = NaN;
  return f32x4(l, h, 0, 0);
}

/** 1.5 · 2^23: x + ROUNDER, for |x| < 2^22, is x rounded half to even in the low mantissa bits. */
const ROUNDER: f32 = 12582912;
const ROUNDER_BITS: i32 = 0x4b400000;

/**
 * Quantizes rows [thread's share of `rows`] of float A (stride ldx floats, K
 * used) to integers in [qmin, qmax] into `q` (row stride kp elements: int16,
 * or bytes when `bytes`; columns K..kp-1 set to 0) and writes each row's f32
 * scale and i32 zero point at params + 8r. Asymmetric: the row's range
 * [min(0, lo), max(0, hi)] maps onto [qmin, qmax]. Symmetric: ±max|x| maps
 * onto zp ± (qmax - qmin) / 2 with zp the middle of [qmin, qmax].
 */
export function quantizeRowsInt8(
  x: usize, ldx: i32, rows: i32, k: i32, q: usize, kp: i32, params: usize,
  bytes: bool, symmetric: bool, qmin: i32, qmax: i32,
  thread: i32, threads: i32,
): void {
  const r0 = <i32>((<i64>rows * thread) / threads), r1 = <i32>((<i64>rows * (thread + 1)) / threads);
  const half = (qmax - qmin) >> 1;
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>r * ldx << 2);
    const mm = rowMinMax(xr, k);
    const lo = f32x4.extract_lane(mm, 0), hi = f32x4.extract_lane(mm, 1);
    const qr = q + (<usize>r * kp << (bytes ? 0 : 1));
    if (!(lo - lo == 0 && hi - hi == 0)) {
      // NaN or ±Inf in the row: its results are NaN (zero codes, NaN scale), as a float GEMM would give at least there.
      store<f32>(params + (<usize>r << 3), NaN);
      store<i32>(params + (<usize>r << 3), 0, 4);
      memory.fill(qr, 0, <usize>kp << (bytes ? 0 : 1));
      continue;
    }
    let scale: f32, zp: i32;
    if (symmetric) {
      scale = max(-lo, hi) / <f32>half;
      zp = qmin + half;
    } else {
      scale = (hi - lo) / <f32>(qmax - qmin);
      zp = 0;
    }
    if (!(scale > 0) || <f32>1 / scale == Infinity) scale = 1; // an all-zero row (or one too small to scale)
    if (!symmetric) zp = min(qmax, max(qmin, qmin - <i32>nearest(lo / scale)));
    store<f32>(params + (<usize>r << 3), scale);
    store<i32>(params + (<usize>r << 3), zp, 4);

    const inv = <f32>1 / scale;
    // nearest(x · inv) + zp as (x · inv + ROUNDER)'s bits - (ROUNDER_BITS - zp): |x · inv| <= 2^16 here.
    const invv = f32x4.splat(inv), rounder = f32x4.splat(ROUNDER), offset = i32x4.splat(ROUNDER_BITS - zp);
    const lov = i32x4.splat(qmin), hiv = i32x4.splat(qmax);
    let i = 0;
    for (; i + 8 <= k; i += 8) {
      const p = xr + (<usize>i << 2);
      let a = i32x4.sub(f32x4.add(f32x4.mul(v128.load(p), invv), rounder), offset);
      let b = i32x4.sub(f32x4.add(f32x4.mul(v128.load(p, 16), invv), rounder), offset);
      a = i32x4.min_s(i32x4.max_s(a, lov), hiv);
      b = i32x4.min_s(i32x4.max_s(b, lov), hiv);
      const h = i16x8.narrow_i32x4_s(a, b);
      if (bytes) v128.store64_lane(qr + <usize>i, i8x16.narrow_i16x8_u(h, h), 0);
      else v128.store(qr + (<usize>i << 1), h);
    }
    for (; i < k; i++) {
      const v = min(qmax, max(qmin, <i32>nearest(load<f32>(xr + (<usize>i << 2)) * inv) + zp));
      if (bytes) store<u8>(qr + <usize>i, <u8>v);
      else store<i16>(qr + (<usize>i << 1), <i16>v);
    }
    for (; i < kp; i++) {
      if (bytes) store<u8>(qr + <usize>i, 0);
      else store<i16>(qr + (<usize>i << 1), 0);
    }
  }
}

// @ts-ignore: decorator
@inline
function storeCols(p: usize, v: v128, cols: i32): void {
  if (cols >= 4) {
    v128.store(p, v);
    return;
  }
  if (cols > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (cols > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cols > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * Dequantizes one row of the tile (two i32x4 accumulators = 8 columns) and
 * stores its first `nr` columns. `col` points at the panel's column data:
 * 8 f32 scales, 8 i32 weight sums, 8 f32 biases.
 */
// @ts-ignore: decorator
@inline
function epilogueRow(
  x0: v128, x1: v128, params: usize, col: usize, c: usize, nr: i32,
  clamp: bool, lo: v128, hi: v128,
): void {
  const s = f32x4.splat(load<f32>(params));
  const zp = i32x4.splat(load<i32>(params, 4));
  let v0 = f32x4.convert_i32x4_s(i32x4.sub(x0, i32x4.mul(zp, v128.load(col, 32))));
  let v1 = f32x4.convert_i32x4_s(i32x4.sub(x1, i32x4.mul(zp, v128.load(col, 48))));
  v0 = f32x4.add(f32x4.mul(v0, f32x4.mul(s, v128.load(col))), v128.load(col, 64));
  v1 = f32x4.add(f32x4.mul(v1, f32x4.mul(s, v128.load(col, 16))), v128.load(col, 80));
  if (clamp) {
    v0 = f32x4.min(f32x4.max(v0, lo), hi);
    v1 = f32x4.min(f32x4.max(v1, lo), hi);
  }
  if (nr == 8) {
    v128.store(c, v0);
    v128.store(c, v1, 16);
  } else {
    storeCols(c, v0, nr);
    storeCols(c + 16, v1, nr - 4);
  }
}

/**
 * One 4x8 tile, 'i16' layout: rows a0..a3 (int16, kp of them each), panel
 * bp (kp/2 steps of 16 bytes: columns 0-7, two k each). Rows past mr repeat
 * row 0 and are not stored. 8 i32x4 accumulators.
 */
function tileI16(
  a: usize, rowBytes: usize, mr: i32, bp: usize, kp: i32,
  params: usize, col: usize, c: usize, ldcBytes: usize, nr: i32,
  clamp: bool, lo: v128, hi: v128,
): void {
  const a0 = a, a1 = mr > 1 ? a + rowBytes : a, a2 = mr > 2 ? a + 2 * rowBytes : a, a3 = mr > 3 ? a + 3 * rowBytes : a;
  let x00 = i32x4.splat(0), x01 = i32x4.splat(0), x10 = i32x4.splat(0), x11 = i32x4.splat(0);
  let x20 = i32x4.splat(0), x21 = i32x4.splat(0), x30 = i32x4.splat(0), x31 = i32x4.splat(0);
  // Two pair steps (4 k) per iteration; kp is a multiple of 8.
  for (let o: usize = 0, end = <usize>kp << 1; o < end; o += 8) {
    let b0 = v128.load8x8_s(bp);
    let b1 = v128.load8x8_s(bp, 8);
    let s = v128.load32_splat(a0 + o);
    x00 = i32x4.add(x00, i32x4.dot_i16x8_s(s, b0));
    x01 = i32x4.add(x01, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(a1 + o);
    x10 = i32x4.add(x10, i32x4.dot_i16x8_s(s, b0));
    x11 = i32x4.add(x11, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(a2 + o);
    x20 = i32x4.add(x20, i32x4.dot_i16x8_s(s, b0));
    x21 = i32x4.add(x21, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(a3 + o);
    x30 = i32x4.add(x30, i32x4.dot_i16x8_s(s, b0));
    x31 = i32x4.add(x31, i32x4.dot_i16x8_s(s, b1));
    b0 = v128.load8x8_s(bp, 16);
    b1 = v128.load8x8_s(bp, 24);
    s = v128.load32_splat(a0 + o, 4);
    x00 = i32x4.add(x00, i32x4.dot_i16x8_s(s, b0));
    x01 = i32x4.add(x01, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(a1 + o, 4);
    x10 = i32x4.add(x10, i32x4.dot_i16x8_s(s, b0));
    x11 = i32x4.add(x11, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(a2 + o, 4);
    x20 = i32x4.add(x20, i32x4.dot_i16x8_s(s, b0));
    x21 = i32x4.add(x21, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(a3 + o, 4);
    x30 = i32x4.add(x30, i32x4.dot_i16x8_s(s, b0));
    x31 = i32x4.add(x31, i32x4.dot_i16x8_s(s, b1));
    bp += 32;
  }
  epilogueRow(x00, x01, params, col, c, nr, clamp, lo, hi);
  if (mr > 1) epilogueRow(x10, x11, params + 8, col, c + ldcBytes, nr, clamp, lo, hi);
  if (mr > 2) epilogueRow(x20, x21, params + 16, col, c + 2 * ldcBytes, nr, clamp, lo, hi);
  if (mr > 3) epilogueRow(x30, x31, params + 24, col, c + 3 * ldcBytes, nr, clamp, lo, hi);
}

/**
 * acc + four-step dot products of int8 `w` and 7-bit `a` per i32 lane: the
 * 16-bit dot (pmaddubsw on x64), then pairs summed by a 16-bit dot with a
 * splat of ones (pmaddwd, the ones kept in a register), exact since
 * |pair sums| <= 2·128·127 fit in i16. Measured on Node 20 (V8 11.3, AMD
 * EPYC with AVX512-VNNI): extadd_pairwise_i16x8_s in place of the dot with
 * ones made the GEMM about 1.3x slower; i32x4.relaxed_dot_i8x16_i7x16_add_s
 * is not fused there (a longer sequence, 0.6x the throughput of this pair
 * in a register-only loop) and under Liftoff returned twice the dot product
 * without the accumulator (right under TurboFan, which --no-liftoff makes
 * the only tier).
 */
// @ts-ignore: decorator
@inline
function dotAdd(w: v128, a: v128, acc: v128, ones: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(w, a), ones));
}

/**
 * i16x8 ones for dotAdd, as static data. A tile loads them once (so V8 keeps
 * them in a register): V8 13.6 (Node 24) rematerializes a constant vector
 * before every use, a load, a move and a shuffle per dotAdd, which ran the
 * 'u7' GEMM at about 0.6x Node 20's speed (docs/node-versions.md).
 */
const ONES_I16: usize = memory.data<i16>([1, 1, 1, 1, 1, 1, 1, 1], 16);

/**
 * One 4x8 tile, 'u7' layout: rows of bytes in [0, 127], panel of kp/4 steps
 * of 32 bytes (columns 0-3 then 4-7, four k each). Relaxed variant only.
 */
function tileU7(
  a: usize, rowBytes: usize, mr: i32, bp: usize, kp: i32,
  params: usize, col: usize, c: usize, ldcBytes: usize, nr: i32,
  clamp: bool, lo: v128, hi: v128,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) {
    unreachable();
  } else {
    const a0 = a, a1 = mr > 1 ? a + rowBytes : a, a2 = mr > 2 ? a + 2 * rowBytes : a, a3 = mr > 3 ? a + 3 * rowBytes : a;
    let x00 = i32x4.splat(0), x01 = i32x4.splat(0), x10 = i32x4.splat(0), x11 = i32x4.splat(0);
    let x20 = i32x4.splat(0), x21 = i32x4.splat(0), x30 = i32x4.splat(0), x31 = i32x4.splat(0);
    const ones = v128.load(ONES_I16);
    // Two quad steps (8 k) per iteration; kp is a multiple of 8.
    for (let o: usize = 0, end = <usize>kp; o < end; o += 8) {
      let b0 = v128.load(bp);
      let b1 = v128.load(bp, 16);
      let s = v128.load32_splat(a0 + o);
      x00 = dotAdd(b0, s, x00, ones);
      x01 = dotAdd(b1, s, x01, ones);
      s = v128.load32_splat(a1 + o);
      x10 = dotAdd(b0, s, x10, ones);
      x11 = dotAdd(b1, s, x11, ones);
      s = v128.load32_splat(a2 + o);
      x20 = dotAdd(b0, s, x20, ones);
      x21 = dotAdd(b1, s, x21, ones);
      s = v128.load32_splat(a3 + o);
      x30 = dotAdd(b0, s, x30, ones);
      x31 = dotAdd(b1, s, x31, ones);
      b0 = v128.load(bp, 32);
      b1 = v128.load(bp, 48);
      s = v128.load32_splat(a0 + o, 4);
      x00 = dotAdd(b0, s, x00, ones);
      x01 = dotAdd(b1, s, x01, ones);
      s = v128.load32_splat(a1 + o, 4);
      x10 = dotAdd(b0, s, x10, ones);
      x11 = dotAdd(b1, s, x11, ones);
      s = v128.load32_splat(a2 + o, 4);
      x20 = dotAdd(b0, s, x20, ones);
      x21 = dotAdd(b1, s, x21, ones);
      s = v128.load32_splat(a3 + o, 4);
      x30 = dotAdd(b0, s, x30, ones);
      x31 = dotAdd(b1, s, x31, ones);
      bp += 64;
    }
    epilogueRow(x00, x01, params, col, c, nr, clamp, lo, hi);
    if (mr > 1) epilogueRow(x10, x11, params + 8, col, c + ldcBytes, nr, clamp, lo, hi);
    if (mr > 2) epilogueRow(x20, x21, params + 16, col, c + 2 * ldcBytes, nr, clamp, lo, hi);
    if (mr > 3) epilogueRow(x30, x31, params + 24, col, c + 3 * ldcBytes, nr, clamp, lo, hi);
  }
}

/**
 * C = dequant(Q · W) for quantized rows `q` (from quantizeRowsInt8: bytes in
 * [0, 127] when `u7`, else int16; row stride kp elements) and packed weights `w` (kp x 8 bytes
 * per panel); `cols` holds per panel 8 f32 channel scales, 8 i32 weight sums
 * over K and 8 f32 biases (96 bytes). Work is shared through the i32 counter
 * at `counter` (the caller sets it to 0), as the float GEMM does.
 */
export function gemmInt8(
  q: usize, kp: i32, params: usize, w: usize, cols: usize, c: usize, ldc: i32,
  m: i32, n: i32, u7: bool, clampMin: f32, clampMax: f32,
  counter: usize, thread: i32, threads: i32,
): void {
  const clamp = clampMin != -Infinity || clampMax != Infinity;
  const lo = f32x4.splat(clampMin), hi = f32x4.splat(clampMax);
  const rowBytes = <usize>kp << (u7 ? 0 : 1);
  const panelBytes = <usize>kp << 3;
  const ldcBytes = <usize>ldc << 2;
  const panels = (n + 7) >> 3;
  const rowChunks = (m + MC - 1) / MC;
  const rowsPerChunk = (((m + rowChunks - 1) / rowChunks + 3) >> 2) << 2;
  const panelChunks = min(panels, max(1, (MIN_CHUNKS + rowChunks - 1) / rowChunks));
  const panelsPerChunk = (panels + panelChunks - 1) / panelChunks;
  const chunks = rowChunks * panelChunks;
  for (;;) {
    const chunk = atomic.add<i32>(counter, 1);
    if (chunk >= chunks) break;
    const r = chunk / panelChunks, qc = chunk - r * panelChunks;
    const m0 = r * rowsPerChunk, p0 = qc * panelsPerChunk;
    const m1 = min(m, m0 + rowsPerChunk), p1 = min(panels, p0 + panelsPerChunk);
    for (let p = p0; p < p1; p++) {
      const nr = min(8, n - p * 8);
      const bp = w + <usize>p * panelBytes;
      const col = cols + <usize>p * 96;
      for (let mm = m0; mm < m1; mm += 4) {
        const a = q + <usize>mm * rowBytes;
        const cp = c + <usize>mm * ldcBytes + (<usize>p << 5);
        const pr = params + (<usize>mm << 3);
        if (u7) tileU7(a, rowBytes, min(4, m1 - mm), bp, kp, pr, col, cp, ldcBytes, nr, clamp, lo, hi);
        else tileI16(a, rowBytes, min(4, m1 - mm), bp, kp, pr, col, cp, ldcBytes, nr, clamp, lo, hi);
      }
    }
  }
}
