/**
 * Fused attention at SD's shapes: 2 batches (cond/uncond) x 8 heads at the
 * 64x64-latent level (self- and cross-attention), the lower UNet levels, and
 * CLIP's causal self-attention. FLOPs are counted as 4·B·N·T·S·d (the two
 * matmuls), as issue 4 does; the softmax is extra work on top.
 *
 * The default layout, BTNH with keys row-major, no mask and scale 1/sqrt(d),
 * is exactly how the UNet's FUSED_ATTENTION calls the kernel (the head
 * transposes taken in, SD's mask of zeros dropped); the 64x64 shapes also
 * run in BNTH (heads split out, as unfused [B·N, T, d] matmuls see them).
 */
import { attention, attentionWorkspaceBytes, type AttentionLayout } from '../../src/kernels/wasm/attention.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { time, type Timing } from './measure.js';

export interface AttentionShape {
  name: string;
  batch: number;
  heads: number;
  queries: number;
  keys: number;
  dim: number;
  causal?: boolean;
  /** Default 'BTNH'. */
  layout?: AttentionLayout;
}

export const ATTENTION_SHAPES: AttentionShape[] = [
  { name: 'self 64x64', batch: 2, heads: 8, queries: 4096, keys: 4096, dim: 40 },
  { name: 'cross 64x64', batch: 2, heads: 8, queries: 4096, keys: 77, dim: 40 },
  { name: 'self 64x64 BNTH', batch: 2, heads: 8, queries: 4096, keys: 4096, dim: 40, layout: 'BNTH' },
  { name: 'cross 64x64 BNTH', batch: 2, heads: 8, queries: 4096, keys: 77, dim: 40, layout: 'BNTH' },
  { name: 'self 32x32', batch: 2, heads: 8, queries: 1024, keys: 1024, dim: 80 },
  { name: 'self 16x16', batch: 2, heads: 8, queries: 256, keys: 256, dim: 160 },
  { name: 'CLIP causal', batch: 1, heads: 12, queries: 77, keys: 77, dim: 64, causal: true },
];

export function attentionLabel(s: AttentionShape): string {
  return `${s.name} ${s.batch}x${s.heads}x${s.queries}x${s.keys}x${s.dim}`;
}

export function attentionFlops(s: AttentionShape): number {
  return 4 * s.batch * s.heads * s.queries * s.keys * s.dim;
}

function fillRandom(out: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
}

export interface AttentionTiming extends Timing {
  /** Scratch the kernel used beyond its inputs and output, bytes (all threads). */
  workspaceBytes: number;
}

/** Times one attention call in the shape's layout, inputs uniform in [-1, 1). */
export function timeAttention(rt: KernelRuntime, s: AttentionShape, maxTimeSeconds: number): AttentionTiming {
  const mark = rt.arena.top;
  const qn = s.batch * s.queries * s.heads * s.dim;
  const kn = s.batch * s.keys * s.heads * s.dim;
  const q = rt.arena.alloc(qn * 4);
  const k = rt.arena.alloc(kn * 4);
  const v = rt.arena.alloc(kn * 4);
  const out = rt.arena.alloc(qn * 4);
  fillRandom(rt.arena.f32(q, qn), 1);
  fillRandom(rt.arena.f32(k, kn), 2);
  fillRandom(rt.arena.f32(v, kn), 3);
  const workspaceBytes = attentionWorkspaceBytes(rt, s.keys, s.dim);
  const scratch = rt.arena.alloc(workspaceBytes, 64);
  const run = () =>
    attention(rt, {
      q, k, v, out, scratch,
      batch: s.batch, queries: s.queries, keys: s.keys, heads: s.heads, dim: s.dim,
      scale: 1 / Math.sqrt(s.dim), causal: s.causal, layout: s.layout,
    });
  const timing = time(`attention ${attentionLabel(s)} x${rt.threads}`, run, maxTimeSeconds);
  rt.arena.reset(mark);
  return { ...timing, workspaceBytes };
}
