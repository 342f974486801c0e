// Packs int8 weights W[N, K] (TFLite's FULLY_CONNECTED layout, one row of K
// per output channel) for the hybrid int8 GEMM (gemm-int8.ts): panels of 8
// channels, K padded with zeros to Kp (a multiple of 8), zero channels past N.
// - 'i16' layout: per pair of k steps 16 bytes, channel j at bytes 2j, 2j+1;
// - 'u7' layout: per quad of k steps 32 bytes, channels 0-3 then 4-7, four
//   bytes (k..k+3) each.
// Per panel, 96 bytes of column data: 8 f32 channel scales, 8 i32 sums of
// each channel's weights over K (the zero-point correction), 8 f32 biases
// (zeros past N, and without bias).
//
// Full panels go 16 k steps at a time: 8 rows of 16 bytes are transposed in
// 2-byte ('i16') or 4-byte ('u7') units; the row sums are exact integers, so
// the result does not depend on the order. Threads take contiguous ranges
// of panels.

/** Horizontal sum of four i32 lanes. */
// @ts-ignore: decorator
@inline
function sum4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** Sums of the 16 bytes of `v` (as int8), as i32 lanes to add up later. */
// @ts-ignore: decorator
@inline
function byteSums(v: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v));
}

/** Byte position of weight (channel j in 0..7, step kk) inside a panel. */
// @ts-ignore: decorator
@inline
function panelOffset(u7: bool, j: i32, kk: i32): usize {
  if (!u7) return <usize>((kk >> 1) * 16 + j * 2 + (kk & 1));
  return <usize>((kk >> 2) * 32 + (j >> 2) * 16 + (j & 3) * 4 + (kk & 3));
}

/**
 * Steps [kk0, kp) of channels 0..cols-1 whose rows start at `row0` (stride
 * k bytes), one byte at a time; zeros past K and for channels from `cols`.
 * Adds each channel j's weights to the i32 at sums + 4j.
 */
// @ts-ignore: decorator
@inline
function packTail(row0: usize, k: i32, kp: i32, u7: bool, cols: i32, kk0: i32, dst: usize, sums: usize): void {
  for (let j = 0; j < 8; j++) {
    const row = row0 + <usize>j * <usize>k;
    let sum = 0;
    for (let kk = kk0; kk < kp; kk++) {
      let v: i32 = 0;
      if (j < cols && kk < k) v = <i32>load<i8>(row + <usize>kk); // no load past the staged rows
      store<i8>(dst + panelOffset(u7, j, kk), <i8>v);
      sum += v;
    }
    const at = sums + (<usize>j << 2);
    store<i32>(at, load<i32>(at) + sum);
  }
}

/**
 * Writes panels [p0, p1) (of all panels at `out`, column data at `cols`)
 * from the rows of W at src, which hold channels from srcCol0 on.
 */
// @ts-ignore: decorator
@inline
function packRange(
  src: usize, srcCol0: i32, scales: usize, perChannel: bool, bias: usize,
  k: i32, n: i32, kp: i32, u7: bool, out: usize, cols: usize, p0: i32, p1: i32,
): void {
  const panelBytes = <usize>kp << 3;
  const k16 = k & ~15;
  for (let p = p0; p < p1; p++) {
    const col0 = p << 3;
    const channels = min(8, n - col0);
    const dst = out + <usize>p * panelBytes;
    const row0 = src + <usize>(col0 - srcCol0) * <usize>k;
    // The panel's column data; its weight sums (at +32) add up the vector and tail parts.
    const c = cols + <usize>p * 96;
    v128.store(c, i32x4.splat(0), 32);
    v128.store(c, i32x4.splat(0), 48);
    let kk0 = 0;
    if (channels == 8) {
      const rowBytes = <usize>k;
      const s0 = row0, s1 = s0 + rowBytes, s2 = s1 + rowBytes, s3 = s2 + rowBytes;
      const s4 = s3 + rowBytes, s5 = s4 + rowBytes, s6 = s5 + rowBytes, s7 = s6 + rowBytes;
      let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      for (; kk0 < k16; kk0 += 16) {
        const off = <usize>kk0;
        const r0 = v128.load(s0 + off), r1 = v128.load(s1 + off), r2 = v128.load(s2 + off), r3 = v128.load(s3 + off);
        const r4 = v128.load(s4 + off), r5 = v128.load(s5 + off), r6 = v128.load(s6 + off), r7 = v128.load(s7 + off);
        a0 = i32x4.add(a0, byteSums(r0));
        a1 = i32x4.add(a1, byteSums(r1));
        a2 = i32x4.add(a2, byteSums(r2));
        a3 = i32x4.add(a3, byteSums(r3));
        a4 = i32x4.add(a4, byteSums(r4));
        a5 = i32x4.add(a5, byteSums(r5));
        a6 = i32x4.add(a6, byteSums(r6));
        a7 = i32x4.add(a7, byteSums(r7));
        if (u7) {
          // Lane q (4 bytes, steps 4q..4q+3) of rows 0-3, then of rows 4-7: 32 bytes per quad.
          const o = dst + (off << 3);
          transpose4Store(r0, r1, r2, r3, o);
          transpose4Store(r4, r5, r6, r7, o + 16);
        } else {
          // Lane t (2 bytes, steps 2t, 2t+1) of rows 0-7: 16 bytes per pair.
          const t0 = i16x8.shuffle(r0, r1, 0, 8, 1, 9, 2, 10, 3, 11), t1 = i16x8.shuffle(r0, r1, 4, 12, 5, 13, 6, 14, 7, 15);
          const t2 = i16x8.shuffle(r2, r3, 0, 8, 1, 9, 2, 10, 3, 11), t3 = i16x8.shuffle(r2, r3, 4, 12, 5, 13, 6, 14, 7, 15);
          const t4 = i16x8.shuffle(r4, r5, 0, 8, 1, 9, 2, 10, 3, 11), t5 = i16x8.shuffle(r4, r5, 4, 12, 5, 13, 6, 14, 7, 15);
          const t6 = i16x8.shuffle(r6, r7, 0, 8, 1, 9, 2, 10, 3, 11), t7 = i16x8.shuffle(r6, r7, 4, 12, 5, 13, 6, 14, 7, 15);
          // Pairs 0-1, 2-3 of rows 0-3 (u0, u1) and 4-7 (u4, u5); pairs 4-7 from t1/t3, t5/t7.
          const u0 = i32x4.shuffle(t0, t2, 0, 4, 1, 5), u1 = i32x4.shuffle(t0, t2, 2, 6, 3, 7);
          const u2 = i32x4.shuffle(t1, t3, 0, 4, 1, 5), u3 = i32x4.shuffle(t1, t3, 2, 6, 3, 7);
          const u4 = i32x4.shuffle(t4, t6, 0, 4, 1, 5), u5 = i32x4.shuffle(t4, t6, 2, 6, 3, 7);
          const u6 = i32x4.shuffle(t5, t7, 0, 4, 1, 5), u7v = i32x4.shuffle(t5, t7, 2, 6, 3, 7);
          const o = dst + (off << 3);
          v128.store(o, i64x2.shuffle(u0, u4, 0, 2));
          v128.store(o, i64x2.shuffle(u0, u4, 1, 3), 16);
          v128.store(o, i64x2.shuffle(u1, u5, 0, 2), 32);
          v128.store(o, i64x2.shuffle(u1, u5, 1, 3), 48);
          v128.store(o, i64x2.shuffle(u2, u6, 0, 2), 64);
          v128.store(o, i64x2.shuffle(u2, u6, 1, 3), 80);
          v128.store(o, i64x2.shuffle(u3, u7v, 0, 2), 96);
          v128.store(o, i64x2.shuffle(u3, u7v, 1, 3), 112);
        }
      }
      v128.store(c, i32x4(sum4(a0), sum4(a1), sum4(a2), sum4(a3)), 32);
      v128.store(c, i32x4(sum4(a4), sum4(a5), sum4(a6), sum4(a7)), 48);
    }
    packTail(row0, k, kp, u7, channels, kk0, dst, c + 32);
    for (let j = 0; j < 8; j++) {
      const col = col0 + j;
      const inside = j < channels;
      store<f32>(c + (<usize>j << 2), inside ? load<f32>(scales + (perChannel ? <usize>col << 2 : 0)) : 0);
      store<f32>(c + (<usize>j << 2), inside && bias != 0 ? load<f32>(bias + (<usize>col << 2)) : 0, 64);
    }
  }
}

/** Stores the 4x4 transpose of 4-byte lanes: lane q of rows r0..r3 as 16 bytes at dst + 32q. */
// @ts-ignore: decorator
@inline
function transpose4Store(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize): void {
  const a = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const b = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const c = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const d = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(a, b, 0, 2));
  v128.store(dst, i64x2.shuffle(a, b, 1, 3), 32);
  v128.store(dst, i64x2.shuffle(c, d, 0, 2), 64);
  v128.store(dst, i64x2.shuffle(c, d, 1, 3), 96);
}

/**
 * Writes panels [first, last) of the ceil(n / 8) panels of int8 weights
 * (kp x 8 bytes each, at `out`) and their column data (96 bytes each, at
 * `cols`), thread `thread` of `threads` doing a contiguous range of them.
 * src holds rows 8·first.. of W[N, K] (so a caller can stage W a few panels
 * at a time); `scales`: n f32 when perChannel is 1, else one; `bias`: n f32,
 * or 0 for none; u7 1 for the 'u7' layout, else 'i16'. src must not overlap
 * out or cols.
 */
export function packGemmInt8Panels(
  src: usize, scales: usize, perChannel: i32, bias: usize, k: i32, n: i32, kp: i32, u7: i32,
  out: usize, cols: usize, first: i32, last: i32, thread: i32, threads: i32,
): void {
  const count = last - first;
  const p0 = first + <i32>(<i64>count * thread / threads);
  const p1 = first + <i32>(<i64>count * (thread + 1) / threads);
  packRange(src, first << 3, scales, perChannel != 0, bias, k, n, kp, u7 != 0, out, cols, p0, p1);
}
