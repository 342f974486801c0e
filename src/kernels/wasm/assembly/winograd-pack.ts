// The filter transform of the Winograd F(4x4, 3x3) convolution (winograd.ts):
// U = G g Gᵀ per (output channel, input channel) of an OHWI [cout, 3, 3, cin]
// filter, in float64, each value rounded once to float32, written as the
// kernel reads it: 36 matrices (xi = 6i + j), each ceil(cout / 8) panels of
// cin rows of 8 output channels (the GEMM panel layout), zeros past cout.
//
// G (points 0, -1, 1, 1/2, -2 and infinity) = diag(1, -1/3, 1/3, -4/15,
// 1/15, 1) · H with small-integer rows H = [1 0 0; 1 -1 1; 1 1 1; 4 2 1;
// 1 -2 4; 0 0 1], so G·(g0, g1, g2) costs a few adds and 4 multiplies.
//
// Vectorised over pairs of output channels (f64x2); threads take contiguous
// ranges of 8-channel panels. The 36 matrices lie a multiple of 4 KiB
// apart at SD's channel counts, so writing one value to each would keep
// evicting L1 and L2 sets: a block of CI_BLOCK input channels is collected
// per matrix in scratch, then copied out as one contiguous run each. Every
// value goes through the same operations whatever the split: the result is
// the same for any thread count.

/** Filter encodings, as ../winograd-pack.ts passes them. */
const FLOAT32: i32 = 0;
const FLOAT16: i32 = 1;
const INT8: i32 = 2;

/** Input channels transformed before their rows are copied out. */
const CI_BLOCK: i32 = 16;
/** Bytes between the 36 matrices of the block buffer: CI_BLOCK rows of 8 floats and a cache line, so they fall in different L1 sets. */
const BLOCK_XI_BYTES: i32 = CI_BLOCK * 32 + 64;
/** Per-thread scratch: the block buffer. */
const SCRATCH_BYTES: i32 = 36 * BLOCK_XI_BYTES;

/** float32 value of the half-precision bits `h` (exact: subnormals scaled up by 2^112, infinities and NaNs kept). */
// @ts-ignore: decorator
@inline
function halfToFloat(h: u32): f32 {
  const magnitude = h & 0x7fff;
  const f = magnitude >= 0x7c00
    ? reinterpret<f32>((magnitude << 13) | 0x7f800000)
    : reinterpret<f32>(magnitude << 13) * reinterpret<f32>(<u32>(127 + 112) << 23);
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

/** Element `index` of the filter as float32 (int8: q · scale, one float32 multiply). */
// @ts-ignore: decorator
@inline
function filterValue<T>(src: usize, index: usize, scale: f32): f32 {
  if (isFloat<T>()) return load<f32>(src + (index << 2));
  if (sizeof<T>() == 2) return halfToFloat(<u32>load<u16>(src + (index << 1)));
  return <f32>load<i8>(src + index) * scale;
}

/**
 * Filter element `offset` after baseA and baseB (two output channels) as
 * f64x2. With `masked`, a lane whose channel is past cout (hasA, hasB
 * false) is 0; unmasked calls are for panels inside cout.
 */
// @ts-ignore: decorator
@inline
function gPair<T>(src: usize, baseA: usize, baseB: usize, offset: usize, scaleA: f32, scaleB: f32, masked: bool, hasA: bool, hasB: bool): v128 {
  let v: v128;
  if (isFloat<T>()) {
    v = v128.load32_lane(src + ((baseB + offset) << 2), v128.load32_zero(src + ((baseA + offset) << 2)), 1);
  } else {
    v = f32x4.replace_lane(f32x4.splat(filterValue<T>(src, baseA + offset, scaleA)), 1, filterValue<T>(src, baseB + offset, scaleB));
  }
  if (masked) v = v128.and(v, i32x4.replace_lane(i32x4.splat(hasA ? -1 : 0), 1, hasB ? -1 : 0));
  return f64x2.promote_low_f32x4(v);
}

// Rows 1 to 4 of G·(g0, g1, g2); rows 0 and 5 are g0 and g2. Doubling by
// adding is exact, so the only constants are G's four scales.
// @ts-ignore: decorator
@inline
function gRow1(g0: v128, g1: v128, g2: v128): v128 {
  return f64x2.mul(f64x2.sub(f64x2.add(g0, g2), g1), f64x2.splat(-1.0 / 3.0));
}
// @ts-ignore: decorator
@inline
function gRow2(g0: v128, g1: v128, g2: v128): v128 {
  return f64x2.mul(f64x2.add(f64x2.add(g0, g2), g1), f64x2.splat(1.0 / 3.0));
}
// @ts-ignore: decorator
@inline
function gRow3(g0: v128, g1: v128, g2: v128): v128 {
  const b = f64x2.add(f64x2.add(g0, g0), g1); // 2 g0 + g1
  return f64x2.mul(f64x2.add(f64x2.add(b, b), g2), f64x2.splat(-4.0 / 15.0)); // (4 g0 + 2 g1 + g2) · -4/15
}
// @ts-ignore: decorator
@inline
function gRow4(g0: v128, g1: v128, g2: v128): v128 {
  const c = f64x2.sub(f64x2.add(g2, g2), g1); // 2 g2 - g1
  return f64x2.mul(f64x2.add(f64x2.add(c, c), g0), f64x2.splat(1.0 / 15.0)); // (g0 - 2 g1 + 4 g2) · 1/15
}

/** Stores v (f64x2) rounded to two float32 at p. */
// @ts-ignore: decorator
@inline
function storeRounded(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

/** Row i of U = (row i of G g)·Gᵀ: six values at dst + j · BLOCK_XI_BYTES (xi = 6i + j). */
// @ts-ignore: decorator
@inline
function storeURow(t0: v128, t1: v128, t2: v128, dst: usize): void {
  storeRounded(dst, t0);
  storeRounded(dst + BLOCK_XI_BYTES, gRow1(t0, t1, t2));
  storeRounded(dst + 2 * BLOCK_XI_BYTES, gRow2(t0, t1, t2));
  storeRounded(dst + 3 * BLOCK_XI_BYTES, gRow3(t0, t1, t2));
  storeRounded(dst + 4 * BLOCK_XI_BYTES, gRow4(t0, t1, t2));
  storeRounded(dst + 5 * BLOCK_XI_BYTES, t2);
}

/**
 * U of output channels oc, oc + 1 (zeros for channels past cout when
 * `masked`) and input channel ci, as float32 pairs at dst + xi *
 * BLOCK_XI_BYTES. G g (6 x 3) stays in registers.
 */
// @ts-ignore: decorator
@inline
function transformPair<T>(
  src: usize, scales: usize, perChannelScales: bool, cin: i32, cout: i32,
  oc: i32, ci: i32, dst: usize, masked: bool,
): void {
  // Masked channels past cout read a valid channel and are zeroed.
  const ocA = masked ? min(oc, cout - 1) : oc, ocB = masked ? min(oc + 1, cout - 1) : oc + 1;
  const hasA = oc < cout, hasB = oc + 1 < cout;
  const scaleA: f32 = sizeof<T>() == 1 ? load<f32>(scales + (perChannelScales ? <usize>ocA << 2 : 0)) : 0;
  const scaleB: f32 = sizeof<T>() == 1 ? load<f32>(scales + (perChannelScales ? <usize>ocB << 2 : 0)) : 0;
  const c = <usize>cin;
  const baseA = <usize>ocA * 9 * c + <usize>ci, baseB = <usize>ocB * 9 * c + <usize>ci;
  // g[ky][kx] is element (3 ky + kx) · cin; G g down the kernel rows, one column kx at a time.
  const a0 = gPair<T>(src, baseA, baseB, 0, scaleA, scaleB, masked, hasA, hasB);
  const a1 = gPair<T>(src, baseA, baseB, 3 * c, scaleA, scaleB, masked, hasA, hasB);
  const a2 = gPair<T>(src, baseA, baseB, 6 * c, scaleA, scaleB, masked, hasA, hasB);
  const b0 = gPair<T>(src, baseA, baseB, c, scaleA, scaleB, masked, hasA, hasB);
  const b1 = gPair<T>(src, baseA, baseB, 4 * c, scaleA, scaleB, masked, hasA, hasB);
  const b2 = gPair<T>(src, baseA, baseB, 7 * c, scaleA, scaleB, masked, hasA, hasB);
  const c0 = gPair<T>(src, baseA, baseB, 2 * c, scaleA, scaleB, masked, hasA, hasB);
  const c1 = gPair<T>(src, baseA, baseB, 5 * c, scaleA, scaleB, masked, hasA, hasB);
  const c2 = gPair<T>(src, baseA, baseB, 8 * c, scaleA, scaleB, masked, hasA, hasB);
  // Then each row i of G g along kx, straight to the output.
  const row = <usize>6 * BLOCK_XI_BYTES;
  storeURow(a0, b0, c0, dst);
  storeURow(gRow1(a0, a1, a2), gRow1(b0, b1, b2), gRow1(c0, c1, c2), dst + row);
  storeURow(gRow2(a0, a1, a2), gRow2(b0, b1, b2), gRow2(c0, c1, c2), dst + 2 * row);
  storeURow(gRow3(a0, a1, a2), gRow3(b0, b1, b2), gRow3(c0, c1, c2), dst + 3 * row);
  storeURow(gRow4(a0, a1, a2), gRow4(b0, b1, b2), gRow4(c0, c1, c2), dst + 4 * row);
  storeURow(a2, b2, c2, dst + 5 * row);
}

/** Transforms the panels [p0, p1) of a filter stored as T (f32, half bits as u16, or i8). */
// @ts-ignore: decorator
@inline
function transformPanels<T>(
  src: usize, scales: usize, perChannelScales: bool, cin: i32, cout: i32,
  u: usize, p0: i32, p1: i32, tmp: usize,
): void {
  const panels = (cout + 7) >> 3;
  const xiBytes = <usize>panels * <usize>cin << 5;
  const block = tmp; // U[xi][ci - c0][8 lanes] at block + xi * BLOCK_XI_BYTES
  for (let p = p0; p < p1; p++) {
    for (let c0 = 0; c0 < cin; c0 += CI_BLOCK) {
      const c1 = min(cin, c0 + CI_BLOCK);
      for (let ci = c0; ci < c1; ci++) {
        const row = block + (<usize>(ci - c0) << 5);
        for (let pair = 0; pair < 4; pair++) {
          const oc = p * 8 + pair * 2;
          const dst = row + (<usize>pair << 3);
          if (oc + 1 < cout) transformPair<T>(src, scales, perChannelScales, cin, cout, oc, ci, dst, false);
          else transformPair<T>(src, scales, perChannelScales, cin, cout, oc, ci, dst, true);
        }
      }
      const runBytes = <usize>(c1 - c0) << 5;
      const first = u + ((<usize>p * <usize>cin + <usize>c0) << 5);
      for (let xi = 0; xi < 36; xi++) memory.copy(first + <usize>xi * xiBytes, block + <usize>xi * BLOCK_XI_BYTES, runBytes);
    }
  }
}

/** Bytes of per-thread scratch winogradPackFilter needs. */
export function winogradPackScratchBytes(): i32 {
  return SCRATCH_BYTES;
}

/**
 * Transforms the OHWI filter at `src` (encoding `dtype`: 0 float32, 1
 * float16 bits, 2 int8 with float32 scales at `scales`, one per output
 * channel when perChannelScales is 1, else one for all) into the packed U
 * at `u` (36 · ceil(cout / 8) · cin · 8 floats). Thread `thread` does the
 * panels [panels · thread / threads, panels · (thread + 1) / threads),
 * with scratchStride bytes of scratch at scratch + thread · scratchStride.
 */
export function winogradPackFilter(
  src: usize, dtype: i32, scales: usize, perChannelScales: i32, cin: i32, cout: i32,
  u: usize, scratch: usize, scratchStride: i32, thread: i32, threads: i32,
): void {
  const panels = (cout + 7) >> 3;
  const p0 = <i32>(<i64>panels * thread / threads);
  const p1 = <i32>(<i64>panels * (thread + 1) / threads);
  const tmp = scratch + <usize>thread * <usize>scratchStride;
  const perChannel = perChannelScales != 0;
  if (dtype == FLOAT32) transformPanels<f32>(src, scales, perChannel, cin, cout, u, p0, p1, tmp);
  else if (dtype == FLOAT16) transformPanels<u16>(src, scales, perChannel, cin, cout, u, p0, p1, tmp);
  else if (dtype == INT8) transformPanels<i8>(src, scales, perChannel, cin, cout, u, p0, p1, tmp);
  else unreachable();
}
