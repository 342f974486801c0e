import { madd } from './simd';

// C[M,N] = A[M,K] · B[K,N] (+ bias[N]) with B pre-packed into panels of 8
// columns (see src/kernels/wasm/gemm-pack.ts): panel p holds columns
// 8p..8p+7 as K rows of 8 floats, zero-padded past N. A and C are row-major
// with strides lda and ldc (in floats).
//
// Each output element is the bias (or 0) plus its K products added in
// order k = 0, 1, …, K-1, whatever the thread count, chunk or tile: results
// are bit-identical for any split of the work.

/**
 * Largest K block. A B sub-panel of KC x 8 floats is read once per 4-row
 * tile; up to K = 1024 one block (no C reload) measured faster than splitting
 * into blocks that fit L1 (K = 640, 768: +5%), though beyond about 768 the
 * sub-panel is served from L2.
 */
const KC: i32 = 1024;
/**
 * Most rows per chunk (a multiple of the tile's rows): an MC x KC block of A
 * (at most 512 KiB) stays in L2 while it meets the chunk's panels.
 */
const MC: i32 = ASC_FEATURE_RELAXED_SIMD ? 126 : 128;

// @ts-ignore: decorator
@inline
function loadCols(p: usize, cols: i32): v128 {
  if (cols >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  if (cols > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cols > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cols > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
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
 * One 4x8 tile of C (rows < mr and columns < nr written): C = init + A·B over
 * kc steps. `init` is the bias pointer (0 = zeros) when `fromC` is false, and
 * C's current value when it is true (a later K block). With `clamp` (on the
 * last K block) the results are clamped to [lo, hi] before they are stored.
 * Rows past mr read row 0 of A again and are not stored. Exported for other
 * kernels built on the same micro-kernel (e.g. convolution as implicit GEMM).
 */
export function tile4x8(
  a: usize, ldaBytes: usize, mr: i32,
  bp: usize, kc: i32,
  c: usize, ldcBytes: usize, nr: i32,
  bias: usize, fromC: bool,
  clamp: bool, lo: v128, hi: v128,
): void {
  const full = mr == 4 && nr == 8;
  const c0 = c, c1 = mr > 1 ? c + ldcBytes : c, c2 = mr > 2 ? c + 2 * ldcBytes : c, c3 = mr > 3 ? c + 3 * ldcBytes : c;
  let x00: v128, x01: v128, x10: v128, x11: v128, x20: v128, x21: v128, x30: v128, x31: v128;
  if (!fromC) {
    const b0 = bias ? v128.load(bias) : f32x4.splat(0);
    const b1 = bias ? v128.load(bias, 16) : f32x4.splat(0);
    x00 = b0; x10 = b0; x20 = b0; x30 = b0;
    x01 = b1; x11 = b1; x21 = b1; x31 = b1;
  } else if (full) {
    x00 = v128.load(c0); x01 = v128.load(c0, 16);
    x10 = v128.load(c1); x11 = v128.load(c1, 16);
    x20 = v128.load(c2); x21 = v128.load(c2, 16);
    x30 = v128.load(c3); x31 = v128.load(c3, 16);
  } else {
    const left = nr, right = nr - 4; // columns in the left and right vector
    x00 = loadCols(c0, left); x01 = loadCols(c0 + 16, right);
    x10 = loadCols(c1, left); x11 = loadCols(c1 + 16, right);
    x20 = loadCols(c2, left); x21 = loadCols(c2 + 16, right);
    x30 = loadCols(c3, left); x31 = loadCols(c3 + 16, right);
  }

  // Row r, or row 0 past mr. A multiply, not a select: V8 re-zero-extends a
  // pointer that started as a select before each of its loads in the loop.
  let a0 = a;
  let a1 = a + <usize>(mr > 1) * ldaBytes;
  let a2 = a + <usize>(mr > 2) * 2 * ldaBytes;
  let a3 = a + <usize>(mr > 3) * 3 * ldaBytes;
  // Two k steps per iteration: the k-offset of the second step is folded
  // into its loads, halving pointer updates and loop control.
  const bEnd2 = bp + (<usize>(kc & ~1) << 5);
  for (; bp < bEnd2; bp += 64) {
    let b0 = v128.load(bp);
    let b1 = v128.load(bp, 16);
    let s = v128.load32_splat(a0);
    x00 = madd(s, b0, x00);
    x01 = madd(s, b1, x01);
    s = v128.load32_splat(a1);
    x10 = madd(s, b0, x10);
    x11 = madd(s, b1, x11);
    s = v128.load32_splat(a2);
    x20 = madd(s, b0, x20);
    x21 = madd(s, b1, x21);
    s = v128.load32_splat(a3);
    x30 = madd(s, b0, x30);
    x31 = madd(s, b1, x31);
    b0 = v128.load(bp, 32);
    b1 = v128.load(bp, 48);
    s = v128.load32_splat(a0, 4);
    x00 = madd(s, b0, x00);
    x01 = madd(s, b1, x01);
    s = v128.load32_splat(a1, 4);
    x10 = madd(s, b0, x10);
    x11 = madd(s, b1, x11);
    s = v128.load32_splat(a2, 4);
    x20 = madd(s, b0, x20);
    x21 = madd(s, b1, x21);
    s = v128.load32_splat(a3, 4);
    x30 = madd(s, b0, x30);
    x31 = madd(s, b1, x31);
    a0 += 8; a1 += 8; a2 += 8; a3 += 8;
  }
  if (kc & 1) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let s = v128.load32_splat(a0);
    x00 = madd(s, b0, x00);
    x01 = madd(s, b1, x01);
    s = v128.load32_splat(a1);
    x10 = madd(s, b0, x10);
    x11 = madd(s, b1, x11);
    s = v128.load32_splat(a2);
    x20 = madd(s, b0, x20);
    x21 = madd(s, b1, x21);
    s = v128.load32_splat(a3);
    x30 = madd(s, b0, x30);
    x31 = madd(s, b1, x31);
  }

  if (clamp) {
    x00 = f32x4.min(f32x4.max(x00, lo), hi); x01 = f32x4.min(f32x4.max(x01, lo), hi);
    x10 = f32x4.min(f32x4.max(x10, lo), hi); x11 = f32x4.min(f32x4.max(x11, lo), hi);
    x20 = f32x4.min(f32x4.max(x20, lo), hi); x21 = f32x4.min(f32x4.max(x21, lo), hi);
    x30 = f32x4.min(f32x4.max(x30, lo), hi); x31 = f32x4.min(f32x4.max(x31, lo), hi);
  }
  if (full) {
    v128.store(c0, x00); v128.store(c0, x01, 16);
    v128.store(c1, x10); v128.store(c1, x11, 16);
    v128.store(c2, x20); v128.store(c2, x21, 16);
    v128.store(c3, x30); v128.store(c3, x31, 16);
  } else {
    const left = nr, right = nr - 4; // columns in the left and right vector
    if (mr > 3) { storeCols(c3, x30, left); storeCols(c3 + 16, x31, right); }
    if (mr > 2) { storeCols(c2, x20, left); storeCols(c2 + 16, x21, right); }
    if (mr > 1) { storeCols(c1, x10, left); storeCols(c1 + 16, x11, right); }
    storeCols(c0, x00, left); storeCols(c0 + 16, x01, right);
  }
}

/**
 * One 6x8 tile of C: tile4x8's contract (rows < mr, at most 6, and columns <
 * nr written; rows past mr read row 0 of A again) with 12 accumulators, so
 * 12 independent multiply-add chains hide the 4-cycle latency of a fused
 * multiply-add at two per cycle, where tile4x8's 8 chains cannot (8-17%
 * more GFLOP per CPU-second at the FULLY_CONNECTED shapes here). One k step per loop iteration: V8 loads both
 * steps' B vectors first when the body holds two, and with 12 accumulators
 * that spills. Only for the relaxed build: a mul then an add needs a
 * register for the product, 16 in all, and V8 has 15 for SIMD.
 */
export function tile6x8(
  a: usize, ldaBytes: usize, mr: i32,
  bp: usize, kc: i32,
  c: usize, ldcBytes: usize, nr: i32,
  bias: usize, fromC: bool,
  clamp: bool, lo: v128, hi: v128,
): void {
  const full = mr == 6 && nr == 8;
  const c0 = c;
  const c1 = mr > 1 ? c + ldcBytes : c;
  const c2 = mr > 2 ? c + 2 * ldcBytes : c;
  const c3 = mr > 3 ? c + 3 * ldcBytes : c;
  const c4 = mr > 4 ? c + 4 * ldcBytes : c;
  const c5 = mr > 5 ? c + 5 * ldcBytes : c;
  let x00: v128, x01: v128, x10: v128, x11: v128, x20: v128, x21: v128;
  let x30: v128, x31: v128, x40: v128, x41: v128, x50: v128, x51: v128;
  if (!fromC) {
    const b0 = bias ? v128.load(bias) : f32x4.splat(0);
    const b1 = bias ? v128.load(bias, 16) : f32x4.splat(0);
    x00 = b0; x10 = b0; x20 = b0; x30 = b0; x40 = b0; x50 = b0;
    x01 = b1; x11 = b1; x21 = b1; x31 = b1; x41 = b1; x51 = b1;
  } else if (full) {
    x00 = v128.load(c0); x01 = v128.load(c0, 16);
    x10 = v128.load(c1); x11 = v128.load(c1, 16);
    x20 = v128.load(c2); x21 = v128.load(c2, 16);
    x30 = v128.load(c3); x31 = v128.load(c3, 16);
    x40 = v128.load(c4); x41 = v128.load(c4, 16);
    x50 = v128.load(c5); x51 = v128.load(c5, 16);
  } else {
    const left = nr, right = nr - 4; // columns in the left and right vector
    x00 = loadCols(c0, left); x01 = loadCols(c0 + 16, right);
    x10 = loadCols(c1, left); x11 = loadCols(c1 + 16, right);
    x20 = loadCols(c2, left); x21 = loadCols(c2 + 16, right);
    x30 = loadCols(c3, left); x31 = loadCols(c3 + 16, right);
    x40 = loadCols(c4, left); x41 = loadCols(c4 + 16, right);
    x50 = loadCols(c5, left); x51 = loadCols(c5 + 16, right);
  }

  // Row r, or row 0 past mr (a multiply, not a select: see tile4x8).
  let a0 = a;
  let a1 = a + <usize>(mr > 1) * ldaBytes;
  let a2 = a + <usize>(mr > 2) * 2 * ldaBytes;
  let a3 = a + <usize>(mr > 3) * 3 * ldaBytes;
  let a4 = a + <usize>(mr > 4) * 4 * ldaBytes;
  let a5 = a + <usize>(mr > 5) * 5 * ldaBytes;
  const bEnd = bp + (<usize>kc << 5);
  for (; bp < bEnd; bp += 32) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let s = v128.load32_splat(a0);
    x00 = madd(s, b0, x00);
    x01 = madd(s, b1, x01);
    s = v128.load32_splat(a1);
    x10 = madd(s, b0, x10);
    x11 = madd(s, b1, x11);
    s = v128.load32_splat(a2);
    x20 = madd(s, b0, x20);
    x21 = madd(s, b1, x21);
    s = v128.load32_splat(a3);
    x30 = madd(s, b0, x30);
    x31 = madd(s, b1, x31);
    s = v128.load32_splat(a4);
    x40 = madd(s, b0, x40);
    x41 = madd(s, b1, x41);
    s = v128.load32_splat(a5);
    x50 = madd(s, b0, x50);
    x51 = madd(s, b1, x51);
    a0 += 4; a1 += 4; a2 += 4; a3 += 4; a4 += 4; a5 += 4;
  }

  if (clamp) {
    x00 = f32x4.min(f32x4.max(x00, lo), hi); x01 = f32x4.min(f32x4.max(x01, lo), hi);
    x10 = f32x4.min(f32x4.max(x10, lo), hi); x11 = f32x4.min(f32x4.max(x11, lo), hi);
    x20 = f32x4.min(f32x4.max(x20, lo), hi); x21 = f32x4.min(f32x4.max(x21, lo), hi);
    x30 = f32x4.min(f32x4.max(x30, lo), hi); x31 = f32x4.min(f32x4.max(x31, lo), hi);
    x40 = f32x4.min(f32x4.max(x40, lo), hi); x41 = f32x4.min(f32x4.max(x41, lo), hi);
    x50 = f32x4.min(f32x4.max(x50, lo), hi); x51 = f32x4.min(f32x4.max(x51, lo), hi);
  }
  if (full) {
    v128.store(c0, x00); v128.store(c0, x01, 16);
    v128.store(c1, x10); v128.store(c1, x11, 16);
    v128.store(c2, x20); v128.store(c2, x21, 16);
    v128.store(c3, x30); v128.store(c3, x31, 16);
    v128.store(c4, x40); v128.store(c4, x41, 16);
    v128.store(c5, x50); v128.store(c5, x51, 16);
  } else {
    const left = nr, right = nr - 4; // columns in the left and right vector
    if (mr > 5) { storeCols(c5, x50, left); storeCols(c5 + 16, x51, right); }
    if (mr > 4) { storeCols(c4, x40, left); storeCols(c4 + 16, x41, right); }
    if (mr > 3) { storeCols(c3, x30, left); storeCols(c3 + 16, x31, right); }
    if (mr > 2) { storeCols(c2, x20, left); storeCols(c2 + 16, x21, right); }
    if (mr > 1) { storeCols(c1, x10, left); storeCols(c1 + 16, x11, right); }
    storeCols(c0, x00, left); storeCols(c0 + 16, x01, right);
  }
}

/** Rows of the GEMM's register tile: tile6x8 in the relaxed build, tile4x8 in the plain one (see tile6x8). */
const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;

/**
 * C = A·B (+ bias) for rows [m0, m1) (at most MC of them) and panels
 * [p0, p1). K blocks outermost (a later block adds onto C), then panels, then
 * MR-row tiles, so a panel's K block is reused from L1 across the rows and the
 * rows are reused from L2 across panels.
 */
function gemmChunk(
  a: usize, lda: i32, b: usize, bias: usize, c: usize, ldc: i32,
  n: i32, k: i32, m0: i32, m1: i32, p0: i32, p1: i32,
  clamp: bool, lo: v128, hi: v128,
): void {
  const ldaBytes = <usize>lda << 2, ldcBytes = <usize>ldc << 2;
  const panelBytes = <usize>k << 5;
  const kBlocks = k > KC ? (k + KC - 1) / KC : 1;
  for (let kb = 0; kb < kBlocks; kb++) {
    const k0 = (kb * k) / kBlocks;
    const kc = ((kb + 1) * k) / kBlocks - k0;
    for (let p = p0; p < p1; p++) {
      const nr = min(8, n - p * 8);
      const bp = b + <usize>p * panelBytes + (<usize>k0 << 5);
      const bb = bias ? bias + (<usize>p << 5) : 0;
      for (let m = m0; m < m1; m += MR) {
        const am = a + <usize>m * ldaBytes + (<usize>k0 << 2), cm = c + <usize>m * ldcBytes + (<usize>p << 5);
        const mr = min(MR, m1 - m), last = clamp && kb == kBlocks - 1;
        if (MR == 6) tile6x8(am, ldaBytes, mr, bp, kc, cm, ldcBytes, nr, bb, kb > 0, last, lo, hi);
        else tile4x8(am, ldaBytes, mr, bp, kc, cm, ldcBytes, nr, bb, kb > 0, last, lo, hi);
      }
    }
  }
}

/** Chunks the work is cut into (at least), so a thread slowed by other load does less of it. */
const MIN_CHUNKS: i32 = 16;
/**
 * Most panels (of 8 columns) per chunk. Chunks of all N columns were up to
 * 7.5 ms of work at the FULLY_CONNECTED shapes (126 rows x 2560 columns x K
 * 320, 114 x 5120 x 640), and an odd count of them left one thread idle for
 * up to a chunk at the end; at most 256 columns they are under 1 ms, at no
 * cost to one thread's speed (the A block is still reused from L2 across
 * 32 panels).
 */
const MAX_CHUNK_PANELS: i32 = 32;

/**
 * C[M,N] = clamp(A[M,K] · B (+ bias), clampMin, clampMax): a fused
 * activation such as RELU is the clamp [0, +inf]; pass -inf, +inf for none.
 * The work is cut into chunks of at most MC
 * rows by a range of panels; every thread takes chunks from the shared
 * counter at `counter` (an i32 the caller sets to 0) until none is left.
 * `b` is the packed B; `bias` is 0 or a pointer to N floats padded with
 * zeros to a multiple of 8. `thread` and `threads` are unused: the counter
 * shares the work.
 */
export function gemm(
  a: usize, lda: i32, b: usize, bias: usize, c: usize, ldc: i32,
  m: i32, n: i32, k: i32, clampMin: f32, clampMax: f32,
  counter: usize, thread: i32, threads: i32,
): void {
  const clamp = clampMin != -Infinity || clampMax != Infinity;
  const lo = f32x4.splat(clampMin), hi = f32x4.splat(clampMax);
  const panels = (n + 7) >> 3;
  const rowChunks = (m + MC - 1) / MC;
  const rowsPerChunk = (((m + rowChunks - 1) / rowChunks + MR - 1) / MR) * MR;
  const panelChunks = min(panels, max((panels + MAX_CHUNK_PANELS - 1) / MAX_CHUNK_PANELS, (MIN_CHUNKS + rowChunks - 1) / rowChunks));
  const panelsPerChunk = (panels + panelChunks - 1) / panelChunks;
  const chunks = rowChunks * panelChunks;
  for (;;) {
    const chunk = atomic.add<i32>(counter, 1);
    if (chunk >= chunks) break;
    const r = chunk / panelChunks, q = chunk - r * panelChunks;
    const m0 = r * rowsPerChunk, p0 = q * panelsPerChunk;
    const m1 = min(m, m0 + rowsPerChunk), p1 = min(panels, p0 + panelsPerChunk);
    if (m0 < m1 && p0 < p1) gemmChunk(a, lda, b, bias, c, ldc, n, k, m0, m1, p0, p1, clamp, lo, hi);
  }
}
