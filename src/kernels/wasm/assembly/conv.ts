import { TILE_ROWS, nextTileRows, tileRowsX8 } from './tile-rows';

// Convolution as implicit GEMM on NHWC activations, for filters Winograd
// does not take (stride, dilation, other sizes): C[positions, cout] =
// A·B + bias where row p of A is the receptive field of output position p in
// (ky, kx, c) order and B the OHWI filter packed as GEMM panels with
// K = kh·kw·cin (../gemm-pack.ts, layout 'nk'). A is never built: for each
// filter tap (ky, kx) the rows of a register tile (6x8 in the relaxed build,
// 4x8 in the plain one: ./tile-rows.ts) are output positions of one output
// row, whose input vectors are `stride·cin` floats apart in the image, so the
// micro-kernel reads them in place. Only a tile touching the padding (or, in
// images less than 4 wide, spanning output rows) is gathered into a
// 6 x cin buffer first.
//
// Each element is bias + its products in K order (taps in order, channels in
// order within a tap), whatever the job split: bit-identical for any thread
// count.

/** Most output positions per job (C rows kept in L2 while the taps pass over them). */
const MC: i32 = 128;
/** Jobs the work is cut into (at least), so a thread slowed by other load does less of it. */
const MIN_JOBS: i32 = 16;

/** Row stride in bytes of the rows tileRows returned (set with them; each thread has its own instance). */
let tileLdaBytes: usize = 0;

/**
 * The input rows of output positions [m, m + mr) for one filter tap (its
 * offsets folded into top and left): in place when they are in one output
 * row and inside the image, else gathered into `gather` with zeros outside.
 */
function tileRows(
  x: usize, inH: i32, inW: i32, cin: i32, outH: i32, outW: i32,
  strideH: i32, strideW: i32, top: i32, left: i32, m: i32, mr: i32, gather: usize,
): usize {
  const pixelBytes = <usize>cin << 2;
  const perImage = outH * outW;
  const n = m / perImage, rem = m - n * perImage;
  const oy = rem / outW, ox = rem - oy * outW;
  const iy = oy * strideH - top, ix0 = ox * strideW - left;
  if (ox + mr <= outW && iy >= 0 && iy < inH && ix0 >= 0 && ix0 + (mr - 1) * strideW < inW) {
    tileLdaBytes = <usize>strideW * pixelBytes;
    return x + <usize>((n * inH + iy) * inW + ix0) * pixelBytes;
  }
  for (let i = 0; i < mr; i++) {
    const mi = m + i;
    const ni = mi / perImage, ri = mi - ni * perImage;
    const oyi = ri / outW, oxi = ri - oyi * outW;
    const yy = oyi * strideH - top, xx = oxi * strideW - left;
    const dst = gather + <usize>i * pixelBytes;
    if (yy >= 0 && yy < inH && xx >= 0 && xx < inW) memory.copy(dst, x + <usize>((ni * inH + yy) * inW + xx) * pixelBytes, pixelBytes);
    else memory.fill(dst, 0, pixelBytes);
  }
  tileLdaBytes = pixelBytes;
  return gather;
}

/**
 * out = clamp(conv(x, w) + bias): x NHWC [batch, inH, inW, cin], out NHWC
 * [batch, outH, outW, cout]; output (oy, ox) tap (ky, kx) reads input
 * (oy·strideH - padTop + ky·dilH, ox·strideW - padLeft + kx·dilW), zero
 * outside. `b` is the packed filter, `bias` 0 or cout floats padded to a
 * multiple of 8. Jobs come from the i32 at `counter` (set to 0 by the
 * caller); each thread uses 24·cin bytes at scratch + thread·24·cin.
 */
export function convImplicitGemm(
  x: usize, batch: i32, inH: i32, inW: i32, cin: i32,
  b: usize, bias: usize, out: usize, outH: i32, outW: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32,
  clampMin: f32, clampMax: f32, scratch: usize,
  counter: usize, thread: i32, threads: i32,
): void {
  const clamp = clampMin != -Infinity || clampMax != Infinity;
  const lo = f32x4.splat(clampMin), hi = f32x4.splat(clampMax);
  const positions = batch * outH * outW;
  const panels = (cout + 7) >> 3;
  const k = kh * kw * cin;
  const panelBytes = <usize>k << 5;
  const ldcBytes = <usize>cout << 2;
  const gather = scratch + <usize>thread * <usize>(24 * cin);
  const taps = kh * kw;

  const rowChunks = (positions + MC - 1) / MC;
  const rowsPerChunk = (((positions + rowChunks - 1) / rowChunks + TILE_ROWS - 1) / TILE_ROWS) * TILE_ROWS;
  const panelChunks = min(panels, max(1, (MIN_JOBS + rowChunks - 1) / rowChunks));
  const panelsPerChunk = (panels + panelChunks - 1) / panelChunks;
  const jobs = rowChunks * panelChunks;
  for (;;) {
    const job = atomic.add<i32>(counter, 1);
    if (job >= jobs) break;
    const r = job / panelChunks, q = job - r * panelChunks;
    const m0 = r * rowsPerChunk, p0 = q * panelsPerChunk;
    const m1 = min(positions, m0 + rowsPerChunk), p1 = min(panels, p0 + panelsPerChunk);
    for (let tap = 0; tap < taps; tap++) {
      const ky = tap / kw, kx = tap - ky * kw;
      // Panels outer, tiles inner: the panel's K block for this tap stays in L1.
      for (let p = p0; p < p1; p++) {
        const bp = b + <usize>p * panelBytes + <usize>tap * (<usize>cin << 5);
        const nr = min(8, cout - p * 8);
        const bb = bias ? bias + (<usize>p << 5) : 0;
        for (let m = m0; m < m1;) {
          // Tiles within one output row (so read in place), unless rows are narrower than a 4-row tile.
          const segEnd = outW >= 4 ? min(m1, (m / outW + 1) * outW) : m1;
          const rows = nextTileRows(segEnd - m), mr = min(rows, segEnd - m);
          const a = tileRows(x, inH, inW, cin, outH, outW, strideH, strideW, padTop - ky * dilH, padLeft - kx * dilW, m, mr, gather);
          tileRowsX8(rows, a, tileLdaBytes, mr, bp, cin, out + <usize>m * ldcBytes + (<usize>p << 5), ldcBytes, nr, bb, tap > 0, clamp && tap == taps - 1, lo, hi);
          m += mr;
        }
      }
    }
  }
}
