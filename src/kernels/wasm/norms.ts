/**
 * Group norm (channels last, optional fused SiLU) and layer norm on the
 * WebAssembly kernels (assembly/norms.ts). Tensors live in the kernels'
 * memory (byte offsets, 4-byte aligned); results are bit-identical for any
 * thread count.
 */
import { UsageError } from '../../errors.js';
import type { KernelRuntime } from './runtime.js';

export interface GroupNormOperands {
  /** x [batch, positions, channels] (NHWC with positions = H·W). */
  x: number;
  /** Output, same shape; may equal x (in place). */
  out: number;
  /** gamma and beta: `channels` floats each. */
  gamma: number;
  beta: number;
  batch: number;
  positions: number;
  channels: number;
  groups: number;
  eps: number;
  /** Apply y·sigmoid(y) after the affine step (SD's ResNet blocks). */
  silu?: boolean;
}

/** Positions per statistics chunk (assembly/norms.ts GN_CHUNK). */
const GN_CHUNK = 256;

/** Scratch bytes a group norm call takes from the arena (partial sums and coefficients). */
export function groupNormScratchBytes(batch: number, positions: number, channels: number): number {
  return batch * Math.ceil(positions / GN_CHUNK) * channels * 8 + batch * channels * 12;
}

function checkPointers(what: string, ptrs: Record<string, number>): void {
  for (const [name, ptr] of Object.entries(ptrs)) {
    if (!Number.isInteger(ptr) || ptr <= 0 || ptr % 4 !== 0) throw new UsageError(`${what}: ${name} must be a nonzero 4-byte aligned offset, got ${ptr}`);
  }
}

function checkCounts(what: string, counts: Record<string, number>): void {
  for (const [name, n] of Object.entries(counts)) {
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what}: ${name} must be a non-negative integer, got ${n}`);
  }
}

/** y = (x - mean_g) / sqrt(var_g + eps) · gamma + beta per (sample, group), then SiLU if asked. */
export function groupNorm(runtime: KernelRuntime, ops: GroupNormOperands): void {
  const { x, out, gamma, beta, batch, positions, channels, groups, eps } = ops;
  checkPointers('group norm', { x, out, gamma, beta });
  checkCounts('group norm', { batch, positions, channels });
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
    throw new UsageError(`group norm: ${channels} channels do not split into ${groups} groups`);
  }
  if (!(eps >= 0)) throw new UsageError(`group norm: eps must be >= 0, got ${eps}`);
  if (batch === 0 || positions === 0 || channels === 0) return;
  const mark = runtime.arena.top;
  try {
    const partials = runtime.arena.alloc(batch * Math.ceil(positions / GN_CHUNK) * channels * 8, 64);
    const coef = runtime.arena.alloc(batch * channels * 12, 64);
    runtime.pool.run('groupNormStats', [x, batch, positions, channels, partials]);
    runtime.pool.run('groupNormReduce', [x, gamma, beta, batch, positions, channels, groups, eps, partials, coef]);
    runtime.pool.run('groupNormApply', [x, out, batch, positions, channels, ops.silu ? 1 : 0, coef]);
  } finally {
    runtime.arena.reset(mark);
  }
}

export interface LayerNormOperands {
  /** x [rows, size]; out the same (may equal x). */
  x: number;
  out: number;
  rows: number;
  size: number;
  /** `size` floats each, or omitted for 1 and 0. */
  gamma?: number;
  beta?: number;
  eps: number;
}

/** Layer norm over the last axis: (x - mean) / sqrt(var + eps) · gamma + beta per row. */
export function layerNorm(runtime: KernelRuntime, ops: LayerNormOperands): void {
  const { x, out, rows, size, eps } = ops;
  checkPointers('layer norm', { x, out, ...(ops.gamma !== undefined ? { gamma: ops.gamma } : {}), ...(ops.beta !== undefined ? { beta: ops.beta } : {}) });
  checkCounts('layer norm', { rows, size });
  if (!(eps >= 0)) throw new UsageError(`layer norm: eps must be >= 0, got ${eps}`);
  if (rows === 0 || size === 0) return;
  runtime.pool.run('layerNorm', [x, out, ops.gamma ?? 0, ops.beta ?? 0, rows, size, eps]);
}
