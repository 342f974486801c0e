import { nextTileRows, tileRowsX8 } from './tile-rows';

// 3x3 stride-1 convolution by Winograd F(4x4, 3x3) on NHWC activations:
// each 4x4 block of outputs ("tile") is Aᵀ [U ⊙ V] A, where V = Bᵀ d B is
// the tile's 6x6 input patch transformed and U = G g Gᵀ the filter
// transformed (once, at load: ../winograd-pack.ts). Over the channels the
// 36 element-wise products become 36 GEMMs [tiles x Cin]·[Cin x Cout] on the
// GEMM micro-kernels (6x8 tiles in the relaxed build, 4x8 in the plain one:
// ./tile-rows.ts): 36 multiplies per 16 outputs instead of 144.
//
// Interpolation points 0, -1, 1, 1/2, -2 and ∞: about 3x less rounding error
// than the usual 0, ±1, ±2 (Barabasz et al., "Error analysis and improving
// the accuracy of Winograd convolution for deep neural networks", 2020), at
// the same cost:
//   Bᵀ = [1 -3/2 -2 3/2 1 0; 0 1 -5/2 1/2 1 0; 0 -1 1/2 5/2 1 0;
//         0 -2 -1 2 1 0; 0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1]
//   Aᵀ = [1 1 1 1 1 0; 0 -1 1 1/2 -2 0; 0 1 1 1/4 4 0; 0 -1 1 1/8 -8 1]
//
// Work: tiles in row-major order (image, tile row, tile column) are cut into
// blocks of `blockTiles`; a job is one block times one range of output
// channels. A thread transforms its block's inputs into its scratch V[36][T][Cin]
// (kept while its next job is on the same block), multiplies per 64 output
// channels into M[36][T][64] and transforms M into the output with bias and
// clamp. Every output element goes through the same operations whatever
// the job split or thread: results are bit-identical for any thread count.

/** Output channels multiplied and transformed together (8 GEMM panels). */
const SUB: i32 = 64;

/**
 * Bytes between the 36 matrices of V (or M): one cache line more than a
 * matrix, so the 36 values of one tile and channel group, read or written
 * together, fall in different L1 sets (a multiple of 4 KiB would put them all
 * in one set).
 */
// @ts-ignore: decorator
@inline
function xiBytes(rows: i32, cols: i32): usize {
  return (<usize>rows * <usize>cols << 2) + 64;
}

// @ts-ignore: decorator
@inline
function loadLanes(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  if (n > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

// @ts-ignore: decorator
@inline
function storeLanes(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
    return;
  }
  if (n > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** Bᵀ·d along one axis: six vectors to six at `dst` (stride dstStep bytes). */
// @ts-ignore: decorator
@inline
function inputTransform6(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, dstStep: usize): void {
  const half = f32x4.splat(0.5), two = f32x4.splat(2), oneHalf = f32x4.splat(1.5), twoHalf = f32x4.splat(2.5);
  const e = f32x4.sub(d3, d1), h = f32x4.sub(d4, d2);
  // t0 = d0 + d4 - 2d2 + 3/2 (d3 - d1); t5 = d5 + d1 - 2d3 + 3/2 (d4 - d2)
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.add(d0, d4), f32x4.mul(two, d2)), f32x4.mul(oneHalf, e)));
  v128.store(dst + 5 * dstStep, f32x4.add(f32x4.sub(f32x4.add(d5, d1), f32x4.mul(two, d3)), f32x4.mul(oneHalf, h)));
  // t1 = d4 - 5/2 d2 + d1 + 1/2 d3; t2 = d4 + 1/2 d2 - d1 + 5/2 d3
  v128.store(dst + dstStep, f32x4.add(f32x4.sub(d4, f32x4.mul(twoHalf, d2)), f32x4.add(d1, f32x4.mul(half, d3))));
  v128.store(dst + 2 * dstStep, f32x4.add(f32x4.add(d4, f32x4.mul(half, d2)), f32x4.sub(f32x4.mul(twoHalf, d3), d1)));
  // t3 = (d4 - d2) + 2(d3 - d1); t4 = (d4 - d2) - 1/2 (d3 - d1)
  v128.store(dst + 3 * dstStep, f32x4.add(h, f32x4.mul(two, e)));
  v128.store(dst + 4 * dstStep, f32x4.sub(h, f32x4.mul(half, e)));
}

/**
 * V[xi][row][c] for the tiles [t0, t0 + count) of the block: the 6x6 input
 * patch of each tile (rows and columns outside the image read the zero row
 * at `zeros`), transformed per group of 4 channels.
 */
function transformInputs(
  x: usize, inH: i32, inW: i32, cin: i32, cinP: i32,
  tilesH: i32, tilesW: i32, padTop: i32, padLeft: i32,
  t0: i32, count: i32, v: usize, blockTiles: i32,
  zeros: usize, srcPtrs: usize, tmp: usize,
): void {
  const rowBytes = <usize>cin << 2;
  const xiStride = xiBytes(blockTiles, cinP);
  for (let r = 0; r < count; r++) {
    const t = t0 + r;
    const perImage = tilesH * tilesW;
    const b = t / perImage, rem = t - b * perImage;
    const ty = rem / tilesW, tx = rem - ty * tilesW;
    const iy0 = ty * 4 - padTop, ix0 = tx * 4 - padLeft;
    // Source of each of the 36 patch positions (the zero row when outside).
    for (let i = 0; i < 6; i++) {
      const iy = iy0 + i;
      for (let j = 0; j < 6; j++) {
        const ix = ix0 + j;
        const inside = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
        store<u32>(srcPtrs + ((i * 6 + j) << 2), inside ? <u32>(x + (<usize>((b * inH + iy) * inW + ix)) * rowBytes) : <u32>zeros);
      }
    }
    const vRow = v + <usize>r * (<usize>cinP << 2);
    for (let c = 0; c < cin; c += 4) {
      const lanes = cin - c;
      const off = <usize>c << 2;
      // Columns of the patch into tmp[i][j]...
      for (let j = 0; j < 6; j++) {
        const col = srcPtrs + (<usize>j << 2);
        inputTransform6(
          loadLanes(<usize>load<u32>(col) + off, lanes), loadLanes(<usize>load<u32>(col, 24) + off, lanes),
          loadLanes(<usize>load<u32>(col, 48) + off, lanes), loadLanes(<usize>load<u32>(col, 72) + off, lanes),
          loadLanes(<usize>load<u32>(col, 96) + off, lanes), loadLanes(<usize>load<u32>(col, 120) + off, lanes),
          tmp + (<usize>j << 4), 96,
        );
      }
      // ...then its rows, straight into V.
      for (let i = 0; i < 6; i++) {
        const row = tmp + <usize>i * 96;
        inputTransform6(
          v128.load(row), v128.load(row, 16), v128.load(row, 32), v128.load(row, 48), v128.load(row, 64), v128.load(row, 80),
          vRow + off + <usize>(i * 6) * xiStride, xiStride,
        );
      }
    }
  }
}

/** Aᵀ·m along one axis: six vectors at `src` (stride srcStep) to four at `dst` (stride dstStep). */
// @ts-ignore: decorator
@inline
function outputTransform6(src: usize, srcStep: usize, dst: usize, dstStep: usize): void {
  const m0 = v128.load(src), m1 = v128.load(src + srcStep), m2 = v128.load(src + 2 * srcStep);
  const m3 = v128.load(src + 3 * srcStep), m4 = v128.load(src + 4 * srcStep), m5 = v128.load(src + 5 * srcStep);
  const p12 = f32x4.add(m2, m1), d21 = f32x4.sub(m2, m1);
  // y0 = m0 + (m1 + m2) + m3 + m4;        y1 = (m2 - m1) + m3 / 2 - 2 m4
  // y2 = (m1 + m2) + m3 / 4 + 4 m4;       y3 = (m2 - m1) + m3 / 8 - 8 m4 + m5
  v128.store(dst, f32x4.add(f32x4.add(f32x4.add(m0, p12), m3), m4));
  v128.store(dst + dstStep, f32x4.sub(f32x4.add(d21, f32x4.mul(f32x4.splat(0.5), m3)), f32x4.mul(f32x4.splat(2), m4)));
  v128.store(dst + 2 * dstStep, f32x4.add(f32x4.add(p12, f32x4.mul(f32x4.splat(0.25), m3)), f32x4.mul(f32x4.splat(4), m4)));
  v128.store(dst + 3 * dstStep, f32x4.add(f32x4.sub(f32x4.add(d21, f32x4.mul(f32x4.splat(0.125), m3)), f32x4.mul(f32x4.splat(8), m4)), m5));
}

/**
 * The outputs of the block's tiles [t0, t0 + count) for output channels
 * [co0, co0 + n) from M[xi][row][SUB]: Aᵀ m A + bias, clamped.
 */
function transformOutputs(
  m: usize, blockTiles: i32, t0: i32, count: i32,
  out: usize, outH: i32, outW: i32, outStride: i32, tilesH: i32, tilesW: i32,
  co0: i32, n: i32, bias: usize, clamp: bool, lo: v128, hi: v128, tmp: usize,
): void {
  const xiStride = xiBytes(blockTiles, SUB);
  const pixelBytes = <usize>outStride << 2;
  for (let r = 0; r < count; r++) {
    const t = t0 + r;
    const perImage = tilesH * tilesW;
    const b = t / perImage, rem = t - b * perImage;
    const ty = rem / tilesW, tx = rem - ty * tilesW;
    const oy0 = ty * 4, ox0 = tx * 4;
    const rowsOut = min(4, outH - oy0), colsOut = min(4, outW - ox0);
    const mRow = m + (<usize>r * SUB << 2);
    for (let c = 0; c < n; c += 4) {
      const lanes = n - c;
      const off = <usize>c << 2;
      // Columns: M[i][j] (j fixed) -> tmp[a][j], a < 4.
      for (let j = 0; j < 6; j++) {
        outputTransform6(mRow + off + <usize>j * xiStride, 6 * xiStride, tmp + (<usize>j << 4), 96);
      }
      // Rows: tmp[a][0..5] -> tmp2[0..3], + bias, clamped, to the output.
      const bv = bias ? loadLanes(bias + (<usize>(co0 + c) << 2), lanes) : f32x4.splat(0);
      const tmp2 = tmp + 576;
      for (let a = 0; a < rowsOut; a++) {
        outputTransform6(tmp + <usize>a * 96, 16, tmp2, 16);
        const dstRow = out + <usize>((b * outH + oy0 + a) * outW + ox0) * pixelBytes + (<usize>(co0 + c) << 2);
        if (colsOut == 4 && lanes >= 4 && !clamp) {
          v128.store(dstRow, f32x4.add(v128.load(tmp2), bv));
          v128.store(dstRow + pixelBytes, f32x4.add(v128.load(tmp2, 16), bv));
          v128.store(dstRow + 2 * pixelBytes, f32x4.add(v128.load(tmp2, 32), bv));
          v128.store(dstRow + 3 * pixelBytes, f32x4.add(v128.load(tmp2, 48), bv));
          continue;
        }
        for (let e = 0; e < colsOut; e++) {
          let y = f32x4.add(v128.load(tmp2 + (<usize>e << 4)), bv);
          if (clamp) y = f32x4.min(f32x4.max(y, lo), hi);
          storeLanes(dstRow + <usize>e * pixelBytes, y, lanes);
        }
      }
    }
  }
}

/** Bytes of per-thread scratch winogradConv3x3 needs. */
export function winogradScratchBytes(cin: i32, blockTiles: i32): i32 {
  const cinP = (cin + 3) & ~3;
  // V, M, the zero row, 36 source pointers, two 36-vector temporaries.
  return 36 * <i32>xiBytes(blockTiles, cinP) + 36 * <i32>xiBytes(blockTiles, SUB) + cinP * 4 + 256 + 1152;
}

/**
 * out = clamp(conv3x3(x, w) + bias) with stride 1: x is NHWC [batch, inH,
 * inW, cin], out NHWC [batch, outH, outW, cout] with outStride floats
 * between pixels (cout, or more when writing a range of a wider output's
 * channels); input position
 * (oy - padTop + ky, ox - padLeft + kx) feeds output (oy, ox), zero outside
 * the image. `u` holds the 36 transformed weight matrices, each as GEMM
 * panels of 8 output channels x cin rows (../winograd-pack.ts); `bias` is 0
 * or cout floats. Jobs are taken from the i32 at `counter` (set to 0 by the
 * caller); `chunkSubs` is the number of 64-channel groups per job. Each
 * thread uses `scratchStride` bytes at scratch + thread * scratchStride.
 */
export function winogradConv3x3(
  x: usize, batch: i32, inH: i32, inW: i32, cin: i32,
  u: usize, bias: usize, out: usize, outH: i32, outW: i32, cout: i32, outStride: i32,
  padTop: i32, padLeft: i32, clampMin: f32, clampMax: f32,
  blockTiles: i32, chunkSubs: i32, scratch: usize, scratchStride: i32,
  counter: usize, thread: i32, threads: i32,
): void {
  const clamp = clampMin != -Infinity || clampMax != Infinity;
  const lo = f32x4.splat(clampMin), hi = f32x4.splat(clampMax);
  const cinP = (cin + 3) & ~3;
  const tilesH = (outH + 3) >> 2, tilesW = (outW + 3) >> 2;
  const tiles = batch * tilesH * tilesW;
  const blocks = (tiles + blockTiles - 1) / blockTiles;
  const subs = (cout + SUB - 1) / SUB;
  const chunks = (subs + chunkSubs - 1) / chunkSubs;
  const jobs = blocks * chunks;
  const panels = (cout + 7) >> 3;
  const panelBytes = <usize>cin << 5;

  const base = scratch + <usize>thread * <usize>scratchStride;
  const v = base;
  const vXiBytes = xiBytes(blockTiles, cinP);
  const mXiBytes = xiBytes(blockTiles, SUB);
  const m = v + 36 * vXiBytes;
  const zeros = m + 36 * mXiBytes;
  const srcPtrs = zeros + (<usize>cinP << 2);
  const tmp = srcPtrs + 256;
  memory.fill(zeros, 0, <usize>cinP << 2);
  const ldaBytes = <usize>cinP << 2;
  const ldcBytes = <usize>SUB << 2;
  const noClamp = f32x4.splat(0);

  let haveBlock = -1;
  for (;;) {
    const job = atomic.add<i32>(counter, 1);
    if (job >= jobs) break;
    const blk = job / chunks, chunk = job - blk * chunks;
    const t0 = blk * blockTiles;
    const count = min(blockTiles, tiles - t0);
    if (blk != haveBlock) {
      transformInputs(x, inH, inW, cin, cinP, tilesH, tilesW, padTop, padLeft, t0, count, v, blockTiles, zeros, srcPtrs, tmp);
      haveBlock = blk;
    }
    const sEnd = min(subs, (chunk + 1) * chunkSubs);
    for (let s = chunk * chunkSubs; s < sEnd; s++) {
      const co0 = s * SUB;
      const n = min(SUB, cout - co0);
      const p0 = co0 >> 3, p1 = min(panels, p0 + (SUB >> 3));
      for (let xi = 0; xi < 36; xi++) {
        const a = v + <usize>xi * vXiBytes;
        const c = m + <usize>xi * mXiBytes;
        const bXi = u + <usize>xi * <usize>panels * panelBytes;
        for (let p = p0; p < p1; p++) {
          const nr = min(8, cout - p * 8);
          const bp = bXi + <usize>p * panelBytes;
          const cp = c + (<usize>(p - p0) << 5);
          for (let r = 0; r < count;) {
            const rows = nextTileRows(count - r), mr = min(rows, count - r);
            tileRowsX8(rows, a + <usize>r * ldaBytes, ldaBytes, mr, bp, cin, cp + <usize>r * ldcBytes, ldcBytes, nr, 0, false, false, noClamp, noClamp);
            r += mr;
          }
        }
      }
      transformOutputs(m, blockTiles, t0, count, out, outH, outW, outStride, tilesH, tilesW, co0, n, bias, clamp, lo, hi, tmp);
    }
  }
}
