/** GEMM (FULLY_CONNECTED) at the shapes of issue 4: A [M,K] · W[N,K]ᵀ + bias. */
import { gemm } from '../../src/kernels/wasm/gemm.js';
import { packGemmWeights } from '../../src/kernels/wasm/gemm-pack.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { time, type Timing } from './measure.js';

export interface GemmShape {
  m: number;
  k: number;
  n: number;
}

/** FULLY_CONNECTED shapes: M tokens x K inputs -> N outputs. */
export const FC_SHAPES: GemmShape[] = [
  { m: 4096, k: 320, n: 320 },
  { m: 4096, k: 320, n: 2560 },
  { m: 1024, k: 640, n: 5120 },
  { m: 77, k: 768, n: 3072 },
  { m: 154, k: 768, n: 320 },
];

export function shapeLabel({ m, k, n }: GemmShape): string {
  return `${m}x${k}->${n}`;
}

export function gemmFlops({ m, k, n }: GemmShape): number {
  return 2 * m * k * n;
}

function fillRandom(out: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
}

export function timeGemm(rt: KernelRuntime, shape: GemmShape, maxTimeSeconds: number): Timing {
  const { m, k, n } = shape;
  const mark = rt.arena.top;
  const weights = new Float32Array(n * k);
  const bias = new Float32Array(n);
  fillRandom(weights, 1);
  fillRandom(bias, 2);
  const b = packGemmWeights(rt, { k, n, layout: 'nk', dtype: 'float32', data: weights, bias });
  const a = rt.arena.alloc(m * k * 4);
  fillRandom(rt.arena.f32(a, m * k), 3);
  const c = rt.arena.alloc(m * n * 4);
  const timing = time(`gemm ${shapeLabel(shape)} x${rt.threads}`, () => gemm(rt, b, { a, c, m }), maxTimeSeconds);
  rt.arena.reset(mark);
  return timing;
}
