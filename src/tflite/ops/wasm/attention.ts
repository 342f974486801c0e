/**
 * Attention on the WebAssembly fused kernel (online softmax, no score
 * matrix), for FUSED_ATTENTION (interpreter/fusion/attention.ts) and the
 * odml.scaled_dot_product_attention composite (BTNH).
 *
 * FUSED_ATTENTION comes in two layouts: 'BNTH' (Q [..., T, H], K [..., S, H]
 * or, as a matmul's right operand, [..., H, S] (`keysTransposed`), V
 * [..., S, Hv], batch dims flattened, one head each) and 'BTNH' (the head
 * transposes taken in: the kernel reads [B, T, N, H] directly). A mask that
 * is a constant of zeros (SD's GPU-target composites carry one) is skipped:
 * never copied into kernel memory nor read.
 */
import { attention, type AttentionMask } from '../../../kernels/wasm/attention.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { attentionGeometry, isZeroConstant, type AttentionState } from '../../interpreter/fusion/attention.js';
import { fusedState } from '../../interpreter/fusion/fused-op.js';
import type { RuntimeTensor } from '../../interpreter/runtime-tensor.js';
import { input, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { pointer } from './operands.js';

/**
 * The mask of a 'BNTH' FUSED_ATTENTION node (shape broadcasting to
 * [...batch, T, S]) as the kernel's [Bflat, 1, T', S'], or undefined when its
 * batch dims neither all broadcast nor all match (the kernel cannot index it then).
 */
function flatMaskShape(mask: RuntimeTensor, batch: readonly number[]): number[] | undefined {
  const rank = batch.length + 2;
  const padded = [...new Array<number>(rank - mask.shape.length).fill(1), ...mask.shape];
  const lead = padded.slice(0, -2);
  const tail = padded.slice(-2);
  if (lead.every((d) => d === 1)) return [1, 1, ...tail];
  if (lead.every((d, i) => d === batch[i])) return [lead.reduce((a, b) => a * b, 1), 1, ...tail];
  return undefined;
}

/** The mask the kernel reads (null: none, or a constant of zeros), with its shape in the kernel's terms; undefined if it cannot index it. */
function kernelMask(node: Node, st: AttentionState, batch: readonly number[]): { tensor: RuntimeTensor; shape: readonly number[] } | null | undefined {
  const mask = node.inputs[3];
  if (!mask || st.zeroMask) return null;
  // 'BTNH': the mask broadcasts to the kernel's [B, N, T, S] as it did to the scores.
  const shape = st.layout === 'BTNH' ? mask.shape : flatMaskShape(mask, batch);
  return shape ? { tensor: mask, shape } : undefined;
}

export function wasmFusedAttention(runtime: KernelRuntime): KernelOverride {
  return {
    supports(node) {
      const st = fusedState<AttentionState>(node);
      const g = st.fallback ? undefined : attentionGeometry(node, st.kernel);
      return g !== undefined && g.s > 0 && kernelMask(node, st.kernel, g.batch) !== undefined;
    },
    prepare(node) {
      const st = fusedState<AttentionState>(node).kernel;
      const mask = kernelMask(node, st, attentionGeometry(node, st)!.batch);
      for (const t of [...node.inputs.slice(0, 3), mask?.tensor]) if (t?.isConstant) pointer(runtime, t);
    },
    run(node) {
      const st = fusedState<AttentionState>(node).kernel;
      const g = attentionGeometry(node, st)!;
      const mask = kernelMask(node, st, g.batch);
      attention(runtime, {
        q: pointer(runtime, input(node, 0)), k: pointer(runtime, input(node, 1)), v: pointer(runtime, input(node, 2)), out: pointer(runtime, output(node)),
        batch: g.batch.reduce((a, b) => a * b, 1), heads: g.heads, queries: g.t, keys: g.s, dim: g.h, valueDim: g.hv,
        layout: st.layout, keysTransposed: !st.keysRowMajor, scale: st.scale,
        mask: mask ? { ptr: pointer(runtime, mask.tensor), shape: mask.shape } : null,
      });
    },
  };
}

/** The composite's mask as the kernel takes it: null when absent or a constant of zeros. */
function compositeMask(node: Node): RuntimeTensor | null {
  const m = node.inputs[3];
  return m && !isZeroConstant(m) ? m : null;
}

/** At the composite's prepare: constant operands into kernel memory, except a mask of zeros (never read). */
export function prepareCompositeAttention(runtime: KernelRuntime, node: Node): void {
  for (const t of [...node.inputs.slice(0, 3), compositeMask(node)]) if (t?.isConstant) pointer(runtime, t);
}

/** The composite's fast path: q [B, T, N, H], k/v [B, S, KN, H], mask broadcasting to [B, N, T, S]. */
export function runCompositeAttention(runtime: KernelRuntime, node: Node, scale: number, causal: boolean): void {
  const [b, t, n, h] = input(node, 0).shape as [number, number, number, number];
  const [, s, kn] = input(node, 1).shape as [number, number, number];
  const hv = input(node, 2).shape[3]!;
  const m = compositeMask(node);
  const mask: AttentionMask | null = m ? { ptr: pointer(runtime, m), shape: m.shape } : null;
  attention(runtime, {
    q: pointer(runtime, input(node, 0)), k: pointer(runtime, input(node, 1)), v: pointer(runtime, input(node, 2)), out: pointer(runtime, output(node)),
    batch: b, queries: t, keys: s, heads: n, kvHeads: kn, dim: h, valueDim: hv, layout: 'BTNH', scale, mask, causal,
  });
}
