/**
 * C[M,N] = A[M,K] · B (+ bias) on the WebAssembly kernels, B packed once by
 * packGemmWeights. A and C live in the kernels' memory (byte offsets); their
 * row strides default to K and N floats. The work is split over the
 * runtime's threads; results are bit-identical for any thread count.
 */
import { UsageError } from '../../errors.js';
import type { PackedGemm } from './gemm-pack.js';
import { JOB_COUNTER_PTR, type KernelRuntime } from './runtime.js';

export interface GemmOperands {
  /** Byte offset of A (4-byte aligned). */
  a: number;
  /** Byte offset of C (4-byte aligned); must not overlap A. */
  c: number;
  m: number;
  /** Row stride of A in floats (default K). */
  lda?: number;
  /** Row stride of C in floats (default N). */
  ldc?: number;
  /**
   * Fused activation as a clamp of the results: RELU is [0, Infinity], RELU6
   * [0, 6], RELU_N1_TO_1 [-1, 1]. Default: none.
   */
  clamp?: { min: number; max: number };
}

export function gemm(runtime: KernelRuntime, b: PackedGemm, { a, c, m, lda = b.k, ldc = b.n, clamp }: GemmOperands): void {
  if (!Number.isInteger(m) || m < 0) throw new UsageError(`gemm: bad row count M=${m}`);
  if (lda < b.k || ldc < b.n) throw new UsageError(`gemm: strides lda=${lda} < K=${b.k} or ldc=${ldc} < N=${b.n}`);
  if (a % 4 !== 0 || c % 4 !== 0) throw new UsageError('gemm: A and C must be 4-byte aligned');
  const min = clamp?.min ?? -Infinity;
  const max = clamp?.max ?? Infinity;
  if (!(min <= max)) throw new UsageError(`gemm: bad clamp [${min}, ${max}]`);
  if (m === 0) return;
  runtime.resetJobCounter();
  runtime.pool.run('gemm', [a, lda, b.ptr, b.biasPtr, c, ldc, m, b.n, b.k, min, max, JOB_COUNTER_PTR]);
}
