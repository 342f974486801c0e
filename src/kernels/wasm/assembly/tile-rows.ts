import { tile4x8, tile6x8 } from './gemm';

// Row tiling for kernels that run the GEMM micro-kernels on their own
// (Winograd, implicit-GEMM convolution): which tile takes the next rows.

/** Rows of the widest register tile of this build. */
export const TILE_ROWS: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;

/**
 * Rows of the next register tile when `left` rows remain: 6 (tile6x8) in
 * the relaxed build, except where a short 6-row tile would waste work (it
 * multiplies 6 rows whatever mr is), so 1-4 rows, and 7 or 8 rows as two
 * 4-row tiles, go to tile4x8. The plain build has only tile4x8 (see
 * tile6x8). Both tiles add each element's products in k order from the same
 * start, so the split never changes a result.
 */
// @ts-ignore: decorator
@inline
export function nextTileRows(left: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 4;
  return left >= 9 || left == 5 || left == 6 ? 6 : 4;
}

/** tile6x8 when rows is 6, else tile4x8: same arguments as they take. */
// @ts-ignore: decorator
@inline
export function tileRowsX8(
  rows: i32,
  a: usize, ldaBytes: usize, mr: i32,
  bp: usize, kc: i32,
  c: usize, ldcBytes: usize, nr: i32,
  bias: usize, fromC: bool,
  clamp: bool, lo: v128, hi: v128,
): void {
  if (ASC_FEATURE_RELAXED_SIMD && rows == 6) tile6x8(a, ldaBytes, mr, bp, kc, c, ldcBytes, nr, bias, fromC, clamp, lo, hi);
  else tile4x8(a, ldaBytes, mr, bp, kc, c, ldcBytes, nr, bias, fromC, clamp, lo, hi);
}
