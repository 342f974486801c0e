// Packs GEMM weights B into the panels the micro-kernel reads (gemm.ts):
// panel p holds columns 8p..8p+7 as K rows of 8 floats, zeros past N. The
// source sits in kernel memory as stored (../gemm-pack.ts copies it there):
// float32, half-precision bits, or int8 with per-column or single scales
// (value = q · scale, one float32 multiply, so rounded once), laid out
// [K, N] ('kn') or [N, K] ('nk', TFLite FULLY_CONNECTED weights).
//
// Threads take contiguous ranges of panels. Each output value is one
// conversion of one source value: the result is the same for any split.

/** Encodings and layouts, as ../gemm-pack.ts passes them. */
const FLOAT32: i32 = 0;
const FLOAT16: i32 = 1;
const INT8: i32 = 2;
const LAYOUT_KN: i32 = 0;

/** float32 bits of four half-precision bit patterns (i32 lanes, high halves 0): exact, subnormals, infinities and NaNs (payload kept) included. */
// @ts-ignore: decorator
@inline
function halfToFloat4(h: v128): v128 {
  const magnitude = v128.and(h, i32x4.splat(0x7fff));
  const shifted = i32x4.shl(magnitude, 13);
  // Finite values (subnormals too): the bits shifted into place read as a
  // float 2^112 too small (a subnormal float for a subnormal half); scaling
  // by 2^112 is exact.
  const finite = f32x4.mul(shifted, f32x4.splat(reinterpret<f32>(<u32>(127 + 112) << 23)));
  const special = v128.or(shifted, i32x4.splat(0x7f800000));
  const value = v128.bitselect(special, finite, i32x4.gt_s(magnitude, i32x4.splat(0x7bff)));
  return v128.or(value, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** float32 value of the half-precision bits `h` (the scalar twin of halfToFloat4). */
// @ts-ignore: decorator
@inline
function halfToFloat(h: u32): f32 {
  const magnitude = h & 0x7fff;
  const f = magnitude > 0x7bff
    ? reinterpret<f32>((magnitude << 13) | 0x7f800000)
    : reinterpret<f32>(magnitude << 13) * reinterpret<f32>(<u32>(127 + 112) << 23);
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

/** Four consecutive source values at `p` as float32 (int8: not yet scaled). */
// @ts-ignore: decorator
@inline
function load4<T>(p: usize): v128 {
  if (isFloat<T>()) return v128.load(p);
  if (sizeof<T>() == 2) return halfToFloat4(v128.load16x4_u(p));
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(p))));
}

/** The source value at `p` as float32 (int8: times `scale`). */
// @ts-ignore: decorator
@inline
function load1<T>(p: usize, scale: f32): f32 {
  if (isFloat<T>()) return load<f32>(p);
  if (sizeof<T>() == 2) return halfToFloat(<u32>load<u16>(p));
  return <f32>load<i8>(p) * scale;
}

/** A panel with fewer than 8 columns (the last one), element by element. */
// @ts-ignore: decorator
@inline
function packPartialPanel<T>(src: usize, srcCol0: i32, scales: usize, perChannel: bool, kn: bool, k: i32, n: i32, dst: usize, col0: i32): void {
  const cols = n - col0;
  const size = <usize>sizeof<T>();
  for (let kk = 0; kk < k; kk++) {
    const o = dst + (<usize>kk << 5);
    for (let j = 0; j < 8; j++) {
      let v: f32 = 0;
      if (j < cols) {
        const col = col0 + j;
        const index = kn ? <usize>kk * <usize>n + <usize>col : <usize>(col - srcCol0) * <usize>k + <usize>kk;
        const scale: f32 = sizeof<T>() == 1 ? load<f32>(scales + (perChannel ? <usize>col << 2 : 0)) : 1;
        v = load1<T>(src + index * size, scale);
      }
      store<f32>(o + (<usize>j << 2), v);
    }
  }
}

/** Transposes 4 rows of 4 lanes: the result's lane i of row r is row i's lane r. */
// @ts-ignore: decorator
@inline
function transposeStore(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, scale: v128, scaled: bool): void {
  const a = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
  const b = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
  const c = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
  const d = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
  let t0 = v128.shuffle<i32>(a, b, 0, 1, 4, 5);
  let t1 = v128.shuffle<i32>(a, b, 2, 3, 6, 7);
  let t2 = v128.shuffle<i32>(c, d, 0, 1, 4, 5);
  let t3 = v128.shuffle<i32>(c, d, 2, 3, 6, 7);
  if (scaled) {
    t0 = f32x4.mul(t0, scale);
    t1 = f32x4.mul(t1, scale);
    t2 = f32x4.mul(t2, scale);
    t3 = f32x4.mul(t3, scale);
  }
  v128.store(dst, t0);
  v128.store(dst, t1, 32);
  v128.store(dst, t2, 64);
  v128.store(dst, t3, 96);
}

/** Panels [p0, p1) of weights stored as T (f32, half bits as u16, or i8); 'nk': src holds the rows from srcCol0 on. */
// @ts-ignore: decorator
@inline
function packPanels<T>(src: usize, srcCol0: i32, scales: usize, perChannel: bool, kn: bool, k: i32, n: i32, out: usize, p0: i32, p1: i32): void {
  const size = <usize>sizeof<T>();
  const scaled = sizeof<T>() == 1; // int8 (u16 holds half bits)
  const panelBytes = <usize>k << 5;
  for (let p = p0; p < p1; p++) {
    const col0 = p << 3;
    const dst = out + <usize>p * panelBytes;
    if (n - col0 < 8) {
      packPartialPanel<T>(src, srcCol0, scales, perChannel, kn, k, n, dst, col0);
      continue;
    }
    let sLo = f32x4.splat(1), sHi = sLo;
    if (scaled) {
      if (perChannel) {
        sLo = v128.load(scales + (<usize>col0 << 2));
        sHi = v128.load(scales + (<usize>col0 << 2), 16);
      } else {
        sLo = f32x4.splat(load<f32>(scales));
        sHi = sLo;
      }
    }
    if (kn) {
      // Row kk of the panel is 8 consecutive values of source row kk.
      const rowBytes = <usize>n * size;
      let s = src + <usize>col0 * size;
      for (let kk = 0; kk < k; kk++, s += rowBytes) {
        let lo = load4<T>(s), hi = load4<T>(s + 4 * size);
        if (scaled) {
          lo = f32x4.mul(lo, sLo);
          hi = f32x4.mul(hi, sHi);
        }
        const o = dst + (<usize>kk << 5);
        v128.store(o, lo);
        v128.store(o, hi, 16);
      }
    } else {
      // Column j of the panel is source row col0 + j: 8 rows x 4 k values
      // per step, transposed into 4 panel rows.
      const rowBytes = <usize>k * size;
      const s0 = src + <usize>(col0 - srcCol0) * rowBytes;
      const s1 = s0 + rowBytes, s2 = s1 + rowBytes, s3 = s2 + rowBytes;
      const s4 = s3 + rowBytes, s5 = s4 + rowBytes, s6 = s5 + rowBytes, s7 = s6 + rowBytes;
      const k4 = k & ~3;
      let kk = 0;
      for (; kk < k4; kk += 4) {
        const off = <usize>kk * size;
        const o = dst + (<usize>kk << 5);
        transposeStore(load4<T>(s0 + off), load4<T>(s1 + off), load4<T>(s2 + off), load4<T>(s3 + off), o, sLo, scaled);
        transposeStore(load4<T>(s4 + off), load4<T>(s5 + off), load4<T>(s6 + off), load4<T>(s7 + off), o + 16, sHi, scaled);
      }
      for (; kk < k; kk++) {
        const off = <usize>kk * size;
        const o = dst + (<usize>kk << 5);
        store<f32>(o, load1<T>(s0 + off, f32x4.extract_lane(sLo, 0)));
        store<f32>(o, load1<T>(s1 + off, f32x4.extract_lane(sLo, 1)), 4);
        store<f32>(o, load1<T>(s2 + off, f32x4.extract_lane(sLo, 2)), 8);
        store<f32>(o, load1<T>(s3 + off, f32x4.extract_lane(sLo, 3)), 12);
        store<f32>(o, load1<T>(s4 + off, f32x4.extract_lane(sHi, 0)), 16);
        store<f32>(o, load1<T>(s5 + off, f32x4.extract_lane(sHi, 1)), 20);
        store<f32>(o, load1<T>(s6 + off, f32x4.extract_lane(sHi, 2)), 24);
        store<f32>(o, load1<T>(s7 + off, f32x4.extract_lane(sHi, 3)), 28);
      }
    }
  }
}

/**
 * Writes panels [first, last) of the ceil(n / 8) panels of k x 8 floats of
 * B to `out` (which holds them all), thread `thread` of `threads` doing a
 * contiguous range of them. `dtype`: 0 float32, 1 half bits, 2 int8 with
 * `scales` (n floats when perChannel is 1, else one); `layout` 0 'kn' (src:
 * all of B, first must be 0), 1 'nk' (src: rows 8·first.. of B[N, K], so a
 * caller can stage B a few panels at a time). `src` must not overlap `out`.
 */
export function packGemmPanels(
  src: usize, dtype: i32, layout: i32, scales: usize, perChannel: i32,
  k: i32, n: i32, out: usize, first: i32, last: i32, thread: i32, threads: i32,
): void {
  const count = last - first;
  const p0 = first + <i32>(<i64>count * thread / threads);
  const p1 = first + <i32>(<i64>count * (thread + 1) / threads);
  const kn = layout == LAYOUT_KN;
  const pc = perChannel != 0;
  const srcCol0 = kn ? 0 : first << 3;
  if (dtype == FLOAT32) packPanels<f32>(src, srcCol0, scales, pc, kn, k, n, out, p0, p1);
  else if (dtype == FLOAT16) packPanels<u16>(src, srcCol0, scales, pc, kn, k, n, out, p0, p1);
  else if (dtype == INT8) packPanels<i8>(src, srcCol0, scales, pc, kn, k, n, out, p0, p1);
  else unreachable();
}
