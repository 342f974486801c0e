/**
 * Hybrid int8 GEMM on the WebAssembly kernels (assembly/gemm-int8.ts):
 * C[M,N] = clamp(A[M,K] · Wᵀ + bias) with W int8 per output channel, packed
 * by packGemmInt8Weights (once, or per use when streamed). Float rows of A are quantized per row at run
 * time (into scratch memory taken from the arena for the call, a block of
 * rows at a time), then integer dot products are dequantized with row scale
 * × channel scale. Results are bit-identical for any thread count; they differ from
 * the float GEMM of the dequantized weights by the activation rounding
 * (relative error of a few 1e-3 with 8-bit rows, about twice that with the
 * 7-bit rows of the 'u7' layout, 16 times less with 12-bit rows).
 */
import { UsageError } from '../../errors.js';
import type { GemmOperands } from './gemm.js';
import { activationRange, type PackedGemmInt8 } from './gemm-int8-pack.js';
import { JOB_COUNTER_PTR, type KernelRuntime } from './runtime.js';

/** Where quantized rows go: `q` (row stride kp elements of 2 bytes, or 1 for 'u7') and `params` (f32 scale, i32 zero point per row). */
export interface QuantizedRows {
  q: number;
  params: number;
}

/**
 * Most bytes of quantized rows gemmInt8 holds at once: a bigger A is
 * quantized and multiplied a block of rows at a time, so the scratch stays
 * small (the decoder's 1x1 convolutions at 512x512 would take 128 MB at
 * once, and kernel memory never shrinks). Each row's results depend on that
 * row alone: the same bits for any block size.
 */
export const QUANTIZED_BLOCK_BYTES = 16 << 20;

/** Quantizes M rows of A as the packing expects (exposed for tests and measurements). */
export function quantizeRowsInt8(runtime: KernelRuntime, packed: PackedGemmInt8, a: number, m: number, lda: number, out: QuantizedRows): void {
  const { qmin, qmax } = activationRange(packed);
  const bytes = packed.layout === 'u7' ? 1 : 0;
  runtime.pool.run('quantizeRowsInt8', [a, lda, m, packed.k, out.q, packed.kp, out.params, bytes, packed.activations === 'symmetric' ? 1 : 0, qmin, qmax]);
}

/**
 * C = clamp(A · Wᵀ + bias): the operands as the float GEMM's (A float, C may
 * not overlap A); rows quantized `blockBytes` of them at a time.
 */
export function gemmInt8(
  runtime: KernelRuntime, packed: PackedGemmInt8, { a, c, m, lda = packed.k, ldc = packed.n, clamp }: GemmOperands, blockBytes = QUANTIZED_BLOCK_BYTES,
): void {
  if (!Number.isInteger(m) || m < 0) throw new UsageError(`gemmInt8: bad row count M=${m}`);
  if (lda < packed.k || ldc < packed.n) throw new UsageError(`gemmInt8: strides lda=${lda} < K=${packed.k} or ldc=${ldc} < N=${packed.n}`);
  if (a % 4 !== 0 || c % 4 !== 0) throw new UsageError('gemmInt8: A and C must be 4-byte aligned');
  const min = clamp?.min ?? -Infinity;
  const max = clamp?.max ?? Infinity;
  if (!(min <= max)) throw new UsageError(`gemmInt8: bad clamp [${min}, ${max}]`);
  if (m === 0) return;
  void packed.ptr; // streamed weights are packed now, below this call's scratch (the arena's top is lower for it)
  const rowBytes = packed.kp * (packed.layout === 'u7' ? 1 : 2);
  const block = Math.min(m, Math.max(1, Math.floor(blockBytes / rowBytes)));
  const mark = runtime.arena.top;
  try {
    const rows = { q: runtime.arena.alloc(block * rowBytes, 64), params: runtime.arena.alloc(block * 8, 64) };
    for (let r0 = 0; r0 < m; r0 += block) {
      const count = Math.min(block, m - r0);
      quantizeRowsInt8(runtime, packed, a + r0 * lda * 4, count, lda, rows);
      runGemmInt8(runtime, packed, rows, c + r0 * ldc * 4, count, ldc, min, max);
    }
  } finally {
    runtime.arena.reset(mark);
  }
}

/** The integer GEMM and epilogue over rows already quantized by quantizeRowsInt8. */
export function runGemmInt8(runtime: KernelRuntime, packed: PackedGemmInt8, rows: QuantizedRows, c: number, m: number, ldc: number, min: number, max: number): void {
  runtime.resetJobCounter();
  runtime.pool.run('gemmInt8', [
    rows.q, packed.kp, rows.params, packed.ptr, packed.colsPtr, c, ldc, m, packed.n, packed.layout === 'u7' ? 1 : 0, min, max, JOB_COUNTER_PTR,
  ]);
}
