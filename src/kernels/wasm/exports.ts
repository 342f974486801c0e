/**
 * The functions exported by the kernels module (assembly/index.ts). Pointers
 * are byte offsets into the shared memory. Kernels that split their work
 * across threads take (thread, threads) as their last two arguments and do
 * the share of thread `thread` (0-based) out of `threads`.
 */
export interface KernelExports {
  /** 8 independent multiply-add chains over an L1 buffer; see assembly/peak.ts. */
  simdPeak(buf: number, bufferFloats: number, sweeps: number): number;
  /** simdPeak on every thread, thread t on the buffer at buf + t * bufferFloats * 4. */
  simdPeakParallel(buf: number, bufferFloats: number, sweeps: number, thread: number, threads: number): void;
  /**
   * C = clamp(A·B (+ bias), clampMin, clampMax) with packed B; see
   * assembly/gemm.ts. Strides in floats. Threads share the work through the
   * i32 at `counter`, which must be 0.
   */
  gemm(
    a: number, lda: number, b: number, bias: number, c: number, ldc: number,
    m: number, n: number, k: number, clampMin: number, clampMax: number,
    counter: number, thread: number, threads: number,
  ): void;
  /** Fused attention with online softmax; see assembly/attention.ts and ../attention.ts. */
  attention(
    q: number, k: number, v: number, out: number,
    mask: number, maskB: number, maskN: number, maskT: number, maskS: number,
    batch: number, t: number, s: number, heads: number, kvHeads: number, d: number, dv: number,
    layout: number, causal: number, scale: number,
    scratch: number, scratchStride: number,
    thread: number, threads: number,
  ): void;
  /** Per-thread scratch bytes of attention for S keys, head sizes d and dv. */
  attentionScratchBytes(s: number, d: number, dv: number): number;
}
