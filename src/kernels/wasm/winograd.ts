/**
 * 3x3 stride-1 convolution on NHWC activations by Winograd F(4x4, 3x3) on
 * the WebAssembly kernels (assembly/winograd.ts), weights packed by
 * packWinogradWeights (once, or per use when streamed). Results are bit-identical for any thread count.
 * Accuracy on SD-like data (SiLU of normal activations, PyTorch-default
 * uniform weights) against a float64 reference: 3e-6 to 1.2e-5 of max
 * |output| at 320-1280 channels, 2-4x the direct GEMM's 1.7e-6 to 2.9e-6
 * (test/kernels/wasm-conv-winograd.test.ts bounds it; bench/kernels/conv.ts
 * reports it).
 */
import { UsageError } from '../../errors.js';
import { JOB_COUNTER_PTR, type KernelRuntime } from './runtime.js';
import type { PackedWinograd } from './winograd-pack.js';

export interface WinogradOperands {
  /** Byte offset of the NHWC input [batch, inH, inW, cin]. */
  x: number;
  /** Byte offset of the NHWC output [batch, outH, outW, cout]; must not overlap x. */
  out: number;
  batch: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  /** Padding before the first row and column: output (oy, ox) reads input rows oy - padTop .. oy - padTop + 2. */
  padTop: number;
  padLeft: number;
  /** Fused activation as a clamp (RELU = [0, Infinity]). */
  clamp?: { min: number; max: number };
}

/**
 * Bytes of transformed inputs per thread the tile block is sized for. More
 * tiles per block means fewer passes over the transformed weights (4x the
 * filter, from DRAM for large layers); past the L2 V is served from L3. 4 MB
 * measured 10-55% faster per CPU-second than 1 MB at 640 and 1280 channels,
 * and 8 MB (with 6x8 GEMM tiles) 12-25% faster than 4 MB at 32x32x640,
 * 16x16x1280 and 16x16x2560->1280, batch 2 (one block instead of two at
 * 16x16: one pass over U).
 */
const V_BUDGET_BYTES = 8 << 20;

/**
 * Tiles per block: V[36][T][Cin] within V_BUDGET_BYTES (T at most 64), the
 * `tiles` split into that many blocks evenly, each rounded up to whole
 * register tiles of `tileRows` rows (a partial tile costs a whole one).
 */
export function winogradBlockTiles(cin: number, tiles: number, tileRows: number): number {
  const cinP = Math.ceil(cin / 4) * 4;
  const most = Math.max(tileRows, Math.min(64, Math.floor(V_BUDGET_BYTES / (36 * 4 * cinP))));
  const blocks = Math.ceil(tiles / most);
  return Math.ceil(Math.ceil(tiles / blocks) / tileRows) * tileRows;
}

/**
 * Rows of the GEMM register tile the kernel uses for full tiles: 6 in the
 * relaxed build, 4 in the plain one (assembly/tile-rows.ts).
 */
function gemmTileRows(runtime: KernelRuntime): number {
  return runtime.variant === 'relaxed' ? 6 : 4;
}

/** `blockTiles` (tiles per block) never changes the results; by default winogradBlockTiles chooses it. */
export function winogradConv3x3(runtime: KernelRuntime, w: PackedWinograd, op: WinogradOperands, blockTiles?: number): void {
  const { x, out, batch, inH, inW, outH, outW, padTop, padLeft, clamp } = op;
  const dims = [batch, inH, inW, outH, outW, padTop, padLeft];
  if (!dims.every((d) => Number.isInteger(d) && d >= 0) || batch < 1 || inH < 1 || inW < 1 || outH < 1 || outW < 1) {
    throw new UsageError(`winogradConv3x3: bad sizes ${dims.join(', ')}`);
  }
  if (x % 4 !== 0 || out % 4 !== 0) throw new UsageError('winogradConv3x3: x and out must be 4-byte aligned');
  const min = clamp?.min ?? -Infinity;
  const max = clamp?.max ?? Infinity;
  if (!(min <= max)) throw new UsageError(`winogradConv3x3: bad clamp [${min}, ${max}]`);

  const tiles = batch * Math.ceil(outH / 4) * Math.ceil(outW / 4);
  blockTiles ??= winogradBlockTiles(w.cin, tiles, gemmTileRows(runtime));
  if (!(Number.isInteger(blockTiles) && blockTiles >= 1)) throw new UsageError(`winogradConv3x3: blockTiles ${blockTiles} must be a positive integer`);
  const blocks = Math.ceil(tiles / blockTiles);
  const first = w.chunk(0); // a streamed filter is transformed now, into its slot: before the scratch mark
  const stride = Math.ceil(runtime.kernels.winogradScratchBytes(w.cin, blockTiles) / 64) * 64;
  const mark = runtime.arena.top;
  try {
    const scratch = runtime.arena.alloc(stride * runtime.threads, 64);
    // Each range of output channels (one, unless a streamed filter is chunked) writes its channels of every pixel.
    for (let i = 0; i < w.chunks; i++) {
      const c = i === 0 ? first : w.chunk(i);
      const subs = Math.ceil(c.cout / 64);
      // At least this many jobs, to balance the threads (rounding chunkSubs up
      // could leave fewer, e.g. 7 for 2 threads); a job's channel range never changes its results.
      const chunksWanted = Math.min(subs, Math.ceil((4 * runtime.threads) / blocks));
      const chunkSubs = Math.floor(subs / chunksWanted);
      runtime.resetJobCounter();
      runtime.pool.run('winogradConv3x3', [
        x, batch, inH, inW, w.cin, c.ptr, c.biasPtr, out + c.c0 * 4, outH, outW, c.cout, w.cout,
        padTop, padLeft, min, max, blockTiles, chunkSubs, scratch, stride, JOB_COUNTER_PTR,
      ]);
    }
  } finally {
    runtime.arena.reset(mark);
  }
}
