// The filter transform of the Winograd F(4x4, 3x3) convolution (winograd.ts):
// U = G g Gᵀ per (output channel, input channel) of an OHWI [cout, 3, 3, cin]
// filter, in float64, each value rounded once to float32, written as the
// kernel reads it: 36 matrices (xi = 6i + j), each ceil(cout / 8) panels of
// cin rows of 8 output channels (the GEMM panel layout), zeros past cout.
//
// G (points 0, -1, 1, 1/2, -2 and infinity) = diag(1, -1/3, 1/3, -4/15,
// 1/15, 1) · H with small-integer rows H = [1 0 0; 1 -1 1; 1 1 1; 4 2 1;
// 1 -2 4; 0 0 1], so G·(g0, g1, g2) costs 6 adds and 6 multiplies.
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
/** Per-thread scratch: the 6x3 half-transformed filter and the 6x6 result (f64x2), then the block buffer. */
const SCRATCH_BYTES: i32 = (18 + 36) * 16 + 36 * BLOCK_XI_BYTES;

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

/** Element `index` of the filter as float32 widened to float64 (int8: q · scale rounded to float32 once). */
// @ts-ignore: decorator
@inline
function filterValue<T>(src: usize, index: usize, scale: f32): f64 {
  if (isFloat<T>()) return <f64>load<f32>(src + (index << 2));
  if (sizeof<T>() == 2) return <f64>halfToFloat(<u32>load<u16>(src + (index << 1)));
  return <f64>(<f32>load<i8>(src + index) * scale);
}

/**
 * G·(g0, g1, g2) for two channels at once: six f64x2 values to dst, dst +
 * step, ... Doubling by adding (exact) keeps the constants to the four
 * scales of G, which the caller passes in.
 */
// @ts-ignore: decorator
@inline
function timesG(g0: v128, g1: v128, g2: v128, dst: usize, step: usize, s1: v128, s2: v128, s3: v128, s4: v128): void {
  const a = f64x2.add(g0, g2);
  const b = f64x2.add(f64x2.add(g0, g0), g1); // 2 g0 + g1
  const c = f64x2.sub(f64x2.add(g2, g2), g1); // 2 g2 - g1
  v128.store(dst, g0);
  v128.store(dst + step, f64x2.mul(f64x2.sub(a, g1), s1));
  v128.store(dst + 2 * step, f64x2.mul(f64x2.add(a, g1), s2));
  v128.store(dst + 3 * step, f64x2.mul(f64x2.add(f64x2.add(b, b), g2), s3)); // (4 g0 + 2 g1 + g2) · -4/15
  v128.store(dst + 4 * step, f64x2.mul(f64x2.add(f64x2.add(c, c), g0), s4)); // (g0 - 2 g1 + 4 g2) · 1/15
  v128.store(dst + 5 * step, g2);
}

/** Filter element `offset` after baseA and baseB (two output channels) as f64x2; a lane whose channel is past cout is 0. */
// @ts-ignore: decorator
@inline
function gPair<T>(src: usize, baseA: usize, baseB: usize, offset: usize, scaleA: f32, scaleB: f32, hasA: bool, hasB: bool): v128 {
  const a = select<f64>(filterValue<T>(src, baseA + offset, scaleA), 0, hasA);
  const b = select<f64>(filterValue<T>(src, baseB + offset, scaleB), 0, hasB);
  return f64x2.replace_lane(f64x2.splat(a), 1, b);
}

/**
 * U of output channels oc, oc + 1 (zeros for channels past cout) and input
 * channel ci, as float32 pairs at dst + xi * BLOCK_XI_BYTES; `tmp` holds
 * the float64 intermediates.
 */
// @ts-ignore: decorator
@inline
function transformPair<T>(
  src: usize, scales: usize, perChannelScales: bool, cin: i32, cout: i32,
  oc: i32, ci: i32, dst: usize, tmp: usize,
): void {
  const half = tmp; // (G g)[i][kx] at half + i * 48 + kx * 16
  const full = tmp + 18 * 16; // U[i][j] at full + (6i + j) * 16
  // Channels past cout read a valid channel and contribute zeros.
  const ocA = min(oc, cout - 1), ocB = min(oc + 1, cout - 1);
  const hasA = oc < cout, hasB = oc + 1 < cout;
  const scaleA = perChannelScales ? load<f32>(scales + (<usize>ocA << 2)) : load<f32>(scales);
  const scaleB = perChannelScales ? load<f32>(scales + (<usize>ocB << 2)) : load<f32>(scales);
  const ocElements = <usize>cin * 9;
  const baseA = <usize>ocA * ocElements + <usize>ci, baseB = <usize>ocB * ocElements + <usize>ci;
  const s1 = f64x2.splat(-1.0 / 3.0), s2 = f64x2.splat(1.0 / 3.0), s3 = f64x2.splat(-4.0 / 15.0), s4 = f64x2.splat(1.0 / 15.0);
  const c = <usize>cin;
  // Down the kernel rows ky, one column kx at a time (unrolled: one set of constants).
  timesG(gPair<T>(src, baseA, baseB, 0, scaleA, scaleB, hasA, hasB), gPair<T>(src, baseA, baseB, 3 * c, scaleA, scaleB, hasA, hasB),
    gPair<T>(src, baseA, baseB, 6 * c, scaleA, scaleB, hasA, hasB), half, 48, s1, s2, s3, s4);
  timesG(gPair<T>(src, baseA, baseB, c, scaleA, scaleB, hasA, hasB), gPair<T>(src, baseA, baseB, 4 * c, scaleA, scaleB, hasA, hasB),
    gPair<T>(src, baseA, baseB, 7 * c, scaleA, scaleB, hasA, hasB), half + 16, 48, s1, s2, s3, s4);
  timesG(gPair<T>(src, baseA, baseB, 2 * c, scaleA, scaleB, hasA, hasB), gPair<T>(src, baseA, baseB, 5 * c, scaleA, scaleB, hasA, hasB),
    gPair<T>(src, baseA, baseB, 8 * c, scaleA, scaleB, hasA, hasB), half + 32, 48, s1, s2, s3, s4);
  // Then along kx, one row i at a time.
  timesG(v128.load(half), v128.load(half, 16), v128.load(half, 32), full, 16, s1, s2, s3, s4);
  timesG(v128.load(half, 48), v128.load(half, 64), v128.load(half, 80), full + 96, 16, s1, s2, s3, s4);
  timesG(v128.load(half, 96), v128.load(half, 112), v128.load(half, 128), full + 192, 16, s1, s2, s3, s4);
  timesG(v128.load(half, 144), v128.load(half, 160), v128.load(half, 176), full + 288, 16, s1, s2, s3, s4);
  timesG(v128.load(half, 192), v128.load(half, 208), v128.load(half, 224), full + 384, 16, s1, s2, s3, s4);
  timesG(v128.load(half, 240), v128.load(half, 256), v128.load(half, 272), full + 480, 16, s1, s2, s3, s4);
  for (let xi = 0; xi < 36; xi++) {
    v128.store64_lane(dst + <usize>xi * BLOCK_XI_BYTES, f32x4.demote_f64x2_zero(v128.load(full + (<usize>xi << 4))), 0);
  }
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
  const block = tmp + (18 + 36) * 16; // U[xi][ci - c0][8 lanes] at block + xi * BLOCK_XI_BYTES
  for (let p = p0; p < p1; p++) {
    for (let c0 = 0; c0 < cin; c0 += CI_BLOCK) {
      const c1 = min(cin, c0 + CI_BLOCK);
      for (let ci = c0; ci < c1; ci++) {
        const row = block + (<usize>(ci - c0) << 5);
        for (let pair = 0; pair < 4; pair++) {
          transformPair<T>(src, scales, perChannelScales, cin, cout, p * 8 + pair * 2, ci, row + (<usize>pair << 3), tmp);
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
