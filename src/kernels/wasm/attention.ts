/**
 * Fused scaled dot-product attention on the WebAssembly kernels:
 * out = softmax(scale · Q·Kᵀ + mask) · V with an online softmax over key
 * blocks (assembly/attention.ts), never materialising the T x S scores.
 *
 * Layouts (`layout`, default 'BTNH'):
 *   'BTNH': q [B,T,N,d], k [B,S,KN,d], v [B,S,KN,dv], out [B,T,N,dv] — the
 *           odml.scaled_dot_product_attention composite's layout, as in
 *           reference/attention.ts.
 *   'BNTH': q [B,N,T,d], k [B,KN,S,d], v [B,KN,S,dv], out [B,N,T,dv] — heads
 *           split out; SD's graphs' [B·N, T, d] batched matmuls are this
 *           layout with N = KN = 1 (or B, N separate).
 * K may instead be given transposed, [B, KN, d, S] (`keysTransposed`).
 * Query head n uses key/value head floor(n / (N / KN)). The work is split over
 * the runtime's threads by (batch, head, 64-query tile); results are
 * bit-identical for any thread count. Working memory: `threads` scratch areas
 * of attentionScratchBytes (about 8·S·(d + dv) bytes each), taken from the
 * arena for the call unless `scratch` is given.
 */
import { UsageError } from '../../errors.js';
import { broadcastStrides } from '../reference/tensor.js';
import type { KernelRuntime } from './runtime.js';

export type AttentionLayout = 'BTNH' | 'BNTH';

export interface AttentionMask {
  /** Byte offset of the additive float32 mask. */
  ptr: number;
  /** Its shape, broadcastable (NumPy rules) to [B, N, T, S]. */
  shape: readonly number[];
}

export interface AttentionOperands {
  /** Byte offsets (4-byte aligned) in the kernels' memory; out must not overlap the inputs. */
  q: number;
  k: number;
  v: number;
  out: number;
  batch: number;
  /** Query positions T. */
  queries: number;
  /** Key/value positions S. */
  keys: number;
  heads: number;
  /** Key/value heads (default `heads`); must divide `heads`. */
  kvHeads?: number;
  /** Query/key head size d. */
  dim: number;
  /** Value head size dv (default `dim`). */
  valueDim?: number;
  layout?: AttentionLayout;
  /** K is given as [B, KN, d, S] (keys in columns, as BATCH_MATMUL's right operand without adj_y), in either layout. */
  keysTransposed?: boolean;
  scale: number;
  mask?: AttentionMask | null;
  /** Query t sees keys 0..t only. */
  causal?: boolean;
  /** Byte offset (16-aligned) of threads x attentionScratchBytes bytes; default: taken from the arena for the call. */
  scratch?: number;
}

/** Scratch bytes one thread needs (the kernel's own formula). */
export function attentionScratchBytes(runtime: KernelRuntime, keys: number, dim: number, valueDim = dim): number {
  return runtime.kernels.attentionScratchBytes(keys, dim, valueDim);
}

/** Bytes before the threads' scratch areas in the workspace: the work counter. */
const WORKSPACE_HEADER_BYTES = 64;

/** Total working memory of one attention call on this runtime, in bytes. */
export function attentionWorkspaceBytes(runtime: KernelRuntime, keys: number, dim: number, valueDim = dim): number {
  return WORKSPACE_HEADER_BYTES + runtime.threads * attentionScratchBytes(runtime, keys, dim, valueDim);
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new UsageError(`attention: ${name} must be an integer >= ${min}, got ${value}`);
}

export function attention(runtime: KernelRuntime, ops: AttentionOperands): void {
  const { batch, queries, keys, heads, dim } = ops;
  const kvHeads = ops.kvHeads ?? heads;
  const valueDim = ops.valueDim ?? dim;
  const layout = ops.layout ?? 'BTNH';
  checkCount('batch', batch, 0);
  checkCount('queries', queries, 0);
  checkCount('keys', keys, 1);
  checkCount('heads', heads, 1);
  checkCount('kvHeads', kvHeads, 1);
  checkCount('dim', dim, 1);
  checkCount('valueDim', valueDim, 1);
  if (heads % kvHeads !== 0) throw new UsageError(`attention: ${heads} query heads are not a multiple of ${kvHeads} key/value heads`);
  if (layout !== 'BTNH' && layout !== 'BNTH') throw new UsageError(`attention: unknown layout ${String(layout)}`);
  if (!Number.isFinite(ops.scale)) throw new UsageError(`attention: scale must be finite, got ${ops.scale}`);
  for (const name of ['q', 'k', 'v', 'out'] as const) {
    if (ops[name] % 4 !== 0) throw new UsageError(`attention: ${name} must be 4-byte aligned`);
  }
  let maskStrides = [0, 0, 0, 0];
  let maskPtr = 0;
  if (ops.mask) {
    if (ops.mask.ptr % 4 !== 0 || ops.mask.ptr === 0) throw new UsageError('attention: mask must be a nonzero 4-byte aligned offset');
    // broadcastStrides throws a UsageError when the mask does not broadcast.
    maskStrides = broadcastStrides(ops.mask.shape, [batch, heads, queries, keys]);
    maskPtr = ops.mask.ptr;
  }
  if (batch === 0 || queries === 0) return;

  const perThread = attentionScratchBytes(runtime, keys, dim, valueDim);
  const mark = runtime.arena.top;
  let scratch = ops.scratch;
  if (scratch === undefined) scratch = runtime.arena.alloc(attentionWorkspaceBytes(runtime, keys, dim, valueDim), 64);
  else if (scratch % 16 !== 0) throw new UsageError('attention: scratch must be 16-byte aligned');
  try {
    // The kernel's shared work counter: the first i32 of the workspace.
    new Int32Array(runtime.memory.buffer, scratch, 1)[0] = 0;
    runtime.pool.run('attention', [
      ops.q, ops.k, ops.v, ops.out,
      maskPtr, maskStrides[0]!, maskStrides[1]!, maskStrides[2]!, maskStrides[3]!,
      batch, queries, keys, heads, kvHeads, dim, valueDim,
      layout === 'BTNH' ? 0 : 1, ops.keysTransposed ? 1 : 0, ops.causal ? 1 : 0, ops.scale,
      scratch, perThread,
    ]);
  } finally {
    if (ops.scratch === undefined) runtime.arena.reset(mark);
  }
}
