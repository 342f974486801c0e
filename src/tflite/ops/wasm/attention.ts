/**
 * Attention on the WebAssembly fused kernel (online softmax, no score
 * matrix), for FUSED_ATTENTION (interpreter/fusion/attention.ts: Q
 * [..., T, H], K [..., S, H], V [..., S, Hv], batch dims flattened, one
 * head each) and the odml.scaled_dot_product_attention composite (BTNH).
 */
import { attention, type AttentionMask } from '../../../kernels/wasm/attention.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import type { AttentionState } from '../../interpreter/fusion/attention.js';
import { fusedState } from '../../interpreter/fusion/fused-op.js';
import type { RuntimeTensor } from '../../interpreter/runtime-tensor.js';
import { input, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { pointer } from './operands.js';

/**
 * The mask of a FUSED_ATTENTION node (shape broadcasting to [...batch, T, S])
 * as the kernel's [Bflat, 1, T', S'], or undefined when its batch dims
 * neither all broadcast nor all match (the kernel cannot index it then).
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

export function wasmFusedAttention(runtime: KernelRuntime): KernelOverride {
  const geometry = (node: Node) => {
    const q = input(node, 0).shape;
    const k = input(node, 1).shape;
    const v = input(node, 2).shape;
    const batch = q.slice(0, -2);
    return { batch, flat: batch.reduce((a, b) => a * b, 1), t: q[q.length - 2]!, h: q[q.length - 1]!, s: k[k.length - 2]!, hv: v[v.length - 1]! };
  };
  return {
    supports(node) {
      const st = fusedState<AttentionState>(node);
      const mask = node.inputs[3];
      return !st.fallback && st.kernel.keysRowMajor && geometry(node).s > 0 && (!mask || flatMaskShape(mask, geometry(node).batch) !== undefined);
    },
    prepare(node) {
      for (const t of node.inputs) if (t?.isConstant) pointer(runtime, t);
    },
    run(node) {
      const g = geometry(node);
      const mask = node.inputs[3];
      attention(runtime, {
        q: pointer(runtime, input(node, 0)), k: pointer(runtime, input(node, 1)), v: pointer(runtime, input(node, 2)), out: pointer(runtime, output(node)),
        batch: g.flat, heads: 1, queries: g.t, keys: g.s, dim: g.h, valueDim: g.hv, layout: 'BNTH',
        scale: fusedState<AttentionState>(node).kernel.scale,
        mask: mask ? { ptr: pointer(runtime, mask), shape: flatMaskShape(mask, g.batch)! } : null,
      });
    },
  };
}

/** The composite's fast path: q [B, T, N, H], k/v [B, S, KN, H], mask broadcasting to [B, N, T, S]. */
export function runCompositeAttention(runtime: KernelRuntime, node: Node, scale: number, causal: boolean): void {
  const [b, t, n, h] = input(node, 0).shape as [number, number, number, number];
  const [, s, kn] = input(node, 1).shape as [number, number, number];
  const hv = input(node, 2).shape[3]!;
  const m = node.inputs[3];
  const mask: AttentionMask | null = m ? { ptr: pointer(runtime, m), shape: m.shape } : null;
  attention(runtime, {
    q: pointer(runtime, input(node, 0)), k: pointer(runtime, input(node, 1)), v: pointer(runtime, input(node, 2)), out: pointer(runtime, output(node)),
    batch: b, queries: t, keys: s, heads: n, kvHeads: kn, dim: h, valueDim: hv, layout: 'BTNH', scale, mask, causal,
  });
}
