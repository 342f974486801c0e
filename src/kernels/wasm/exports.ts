/**
 * The functions exported by the kernels module (assembly/index.ts). Pointers
 * are byte offsets into the shared memory. Kernels that split their work
 * across threads take (thread, threads) as their last two arguments and do
 * the share of thread `thread` (0-based) out of `threads`.
 */
export interface KernelExports {
  /** 8 independent multiply-add chains over an L1 buffer; see assembly/peak.ts. */
  simdPeak(buf: number, bufferFloats: number, sweeps: number): number;
}
