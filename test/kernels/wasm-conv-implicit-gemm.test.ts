import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d } from '../../src/kernels/reference/conv2d.js';
import type { FusedActivation } from '../../src/kernels/reference/activation.js';
import { window2d, type Padding } from '../../src/kernels/reference/padding.js';
import { convImplicitGemm } from '../../src/kernels/wasm/conv-implicit-gemm.js';
import { packGemmWeights } from '../../src/kernels/wasm/gemm-pack.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import type { KernelVariant } from '../../src/kernels/wasm/loader.js';
import {
  VARIANTS, alloc, createRuntimes, put, random, randomFloats, relativeToMaxError, sameBits, withArena,
} from './wasm-kernel-harness.js';

interface Case {
  batch: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: [number, number];
  stride: [number, number];
  dilation?: [number, number];
  padding: Padding;
  bias: boolean;
  activation?: FusedActivation;
}

const CLAMP: Partial<Record<FusedActivation, { min: number; max: number }>> = {
  RELU: { min: 0, max: Infinity },
  RELU6: { min: 0, max: 6 },
};

const CASES: Case[] = [
  { batch: 1, h: 1, w: 1, cin: 3, cout: 5, k: [3, 3], stride: [2, 2], padding: 'SAME', bias: true },
  { batch: 2, h: 9, w: 7, cin: 5, cout: 13, k: [3, 3], stride: [2, 2], padding: 'SAME', bias: true, activation: 'RELU6' },
  { batch: 1, h: 10, w: 11, cin: 17, cout: 9, k: [3, 3], stride: [2, 2], padding: 'VALID', bias: false },
  { batch: 1, h: 8, w: 8, cin: 8, cout: 16, k: [3, 3], stride: [2, 2], padding: { top: 1, bottom: 1, left: 1, right: 1 }, bias: true, activation: 'RELU' },
  { batch: 1, h: 7, w: 6, cin: 6, cout: 7, k: [3, 3], stride: [1, 1], padding: 'SAME', bias: true },
  { batch: 1, h: 11, w: 9, cin: 6, cout: 10, k: [3, 2], stride: [2, 1], dilation: [1, 2], padding: 'SAME', bias: true },
  { batch: 1, h: 12, w: 13, cin: 4, cout: 6, k: [3, 3], stride: [1, 1], dilation: [2, 2], padding: 'VALID', bias: false },
  { batch: 2, h: 5, w: 6, cin: 7, cout: 11, k: [1, 1], stride: [1, 1], padding: 'VALID', bias: true },
  { batch: 1, h: 9, w: 9, cin: 10, cout: 3, k: [1, 1], stride: [2, 2], padding: 'SAME', bias: false },
  { batch: 1, h: 6, w: 7, cin: 12, cout: 33, k: [5, 5], stride: [1, 1], padding: 'SAME', bias: true },
  // Output rows that are not whole 6-row GEMM tiles (relaxed build): 13 and 7 wide, a chunk of several rows, and 3 wide (tiles span rows).
  { batch: 2, h: 9, w: 13, cin: 5, cout: 17, k: [3, 3], stride: [1, 1], padding: 'SAME', bias: true, activation: 'RELU' },
  { batch: 1, h: 15, w: 14, cin: 3, cout: 8, k: [3, 3], stride: [2, 2], padding: 'SAME', bias: false },
  { batch: 1, h: 5, w: 3, cin: 9, cout: 12, k: [3, 3], stride: [1, 1], padding: 'SAME', bias: true },
];

function label(c: Case): string {
  const pad = typeof c.padding === 'string' ? c.padding : `pad${Object.values(c.padding).join('')}`;
  return `${c.batch}x${c.h}x${c.w}x${c.cin}->${c.cout} ${c.k.join('x')} s${c.stride.join('x')}${c.dilation ? ` d${c.dilation.join('x')}` : ''} ${pad}` +
    `${c.bias ? ' bias' : ''}${c.activation ? ` ${c.activation}` : ''}`;
}

describe.each(VARIANTS)('implicit-GEMM conv (%s)', (variant: KernelVariant) => {
  let runtimes: KernelRuntime[] = [];
  beforeAll(async () => {
    runtimes = await createRuntimes(variant);
  });
  afterAll(async () => {
    await Promise.all(runtimes.map((rt) => rt.close()));
  });

  it.each(CASES.map((c, i) => [label(c), c, i] as const))('%s: matches the reference, same bits on 1, 2, 3 threads', (_, c, i) => {
    const rnd = random(300 + i);
    const [kh, kw] = c.k;
    const dilation = c.dilation ?? [1, 1];
    const x = randomFloats(c.batch * c.h * c.w * c.cin, rnd);
    const filter = randomFloats(c.cout * kh * kw * c.cin, rnd);
    const bias = c.bias ? randomFloats(c.cout, rnd) : undefined;
    const want = conv2d(
      { data: x, shape: [c.batch, c.h, c.w, c.cin] },
      { data: filter, shape: [c.cout, kh, kw, c.cin] },
      bias ? { data: bias, shape: [c.cout] } : null,
      { padding: c.padding, stride: c.stride, dilation, activation: c.activation },
    );
    const { h, w } = window2d(c.padding, c.h, c.w, kh, kw, c.stride, dilation);
    const results = runtimes.map((rt) => withArena(rt, () => {
      const packed = packGemmWeights(rt, { k: kh * kw * c.cin, n: c.cout, layout: 'nk', dtype: 'float32', data: filter, bias });
      const length = c.batch * h.outSize * w.outSize * c.cout;
      const out = alloc(rt, length);
      convImplicitGemm(rt, packed, {
        batch: c.batch, inH: c.h, inW: c.w, cin: c.cin, outH: h.outSize, outW: w.outSize, kh, kw,
        stride: c.stride, dilation, padTop: h.before, padLeft: w.before,
      }, { x: put(rt, x), out, clamp: c.activation ? CLAMP[c.activation] : undefined });
      return { ptr: out, length };
    }));
    expect(relativeToMaxError(results[0]!, want.data)).toBeLessThan(2e-6);
    for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
  });
});
