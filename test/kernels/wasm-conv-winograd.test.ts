import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d } from '../../src/kernels/reference/conv2d.js';
import type { FusedActivation } from '../../src/kernels/reference/activation.js';
import { window2d, type Padding } from '../../src/kernels/reference/padding.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import type { KernelVariant } from '../../src/kernels/wasm/loader.js';
import { winogradConv3x3 } from '../../src/kernels/wasm/winograd.js';
import { packWinogradWeights } from '../../src/kernels/wasm/winograd-pack.js';
import {
  VARIANTS, alloc, createRuntimes, put, random, randomFloats, relativeToMaxError, sameBits, withArena,
} from './wasm-kernel-harness.js';

interface Case {
  batch: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  padding: Padding;
  bias: boolean;
  activation?: FusedActivation;
  /** Tiles per block (default: the wrapper's choice). */
  blockTiles?: number;
}

const CLAMP: Partial<Record<FusedActivation, { min: number; max: number }>> = {
  RELU: { min: 0, max: Infinity },
  RELU6: { min: 0, max: 6 },
};

const CASES: Case[] = [
  { batch: 1, h: 1, w: 1, cin: 3, cout: 5, padding: 'SAME', bias: true },
  { batch: 1, h: 3, w: 3, cin: 4, cout: 8, padding: 'VALID', bias: false },
  { batch: 2, h: 7, w: 5, cin: 5, cout: 13, padding: 'SAME', bias: true, activation: 'RELU6' },
  { batch: 1, h: 9, w: 11, cin: 17, cout: 70, padding: 'SAME', bias: true, blockTiles: 4 },
  { batch: 1, h: 10, w: 6, cin: 8, cout: 9, padding: { top: 1, bottom: 1, left: 1, right: 1 }, bias: true, activation: 'RELU' },
  { batch: 1, h: 6, w: 9, cin: 6, cout: 7, padding: { top: 0, bottom: 2, left: 2, right: 0 }, bias: false },
  { batch: 1, h: 13, w: 14, cin: 33, cout: 66, padding: 'VALID', bias: true, blockTiles: 8 },
  // Tile counts that are not whole 6-row GEMM tiles (relaxed build): 20 in one block, 11 in one, 36 in blocks of 7.
  { batch: 1, h: 17, w: 13, cin: 9, cout: 20, padding: 'SAME', bias: true },
  { batch: 1, h: 4, w: 44, cin: 5, cout: 12, padding: 'SAME', bias: false, activation: 'RELU', blockTiles: 11 },
  { batch: 2, h: 12, w: 21, cin: 6, cout: 8, padding: 'SAME', bias: true, blockTiles: 7 },
];

function label(c: Case): string {
  const pad = typeof c.padding === 'string' ? c.padding : `pad${Object.values(c.padding).join('')}`;
  return `${c.batch}x${c.h}x${c.w}x${c.cin}->${c.cout} ${pad}${c.bias ? ' bias' : ''}${c.activation ? ` ${c.activation}` : ''}`;
}

interface Data {
  x: Float32Array;
  filter: Float32Array;
  bias: Float32Array | undefined;
  want: Float32Array;
  outH: number;
  outW: number;
  top: number;
  left: number;
}

function makeData(c: Case, seed: number, scale = 1): Data {
  const rnd = random(seed);
  const x = randomFloats(c.batch * c.h * c.w * c.cin, rnd);
  const filter = randomFloats(c.cout * 9 * c.cin, rnd, -scale, scale);
  const bias = c.bias ? randomFloats(c.cout, rnd) : undefined;
  const ref = conv2d(
    { data: x, shape: [c.batch, c.h, c.w, c.cin] },
    { data: filter, shape: [c.cout, 3, 3, c.cin] },
    bias ? { data: bias, shape: [c.cout] } : null,
    { padding: c.padding, activation: c.activation },
  );
  const { h, w } = window2d(c.padding, c.h, c.w, 3, 3, [1, 1], [1, 1]);
  return { x, filter, bias, want: ref.data, outH: h.outSize, outW: w.outSize, top: h.before, left: w.before };
}

function run(rt: KernelRuntime, c: Case, d: Data): Float32Array {
  return withArena(rt, () => {
    const packed = packWinogradWeights(rt, { cin: c.cin, cout: c.cout, bias: d.bias, filter: { dtype: 'float32', data: d.filter } }, 'resident');
    const x = put(rt, d.x);
    const length = c.batch * d.outH * d.outW * c.cout;
    const out = alloc(rt, length);
    winogradConv3x3(rt, packed, {
      x, out, batch: c.batch, inH: c.h, inW: c.w, outH: d.outH, outW: d.outW, padTop: d.top, padLeft: d.left,
      clamp: c.activation ? CLAMP[c.activation] : undefined,
    }, c.blockTiles);
    return { ptr: out, length };
  });
}

describe.each(VARIANTS)('Winograd F(4x4,3x3) conv (%s)', (variant: KernelVariant) => {
  let runtimes: KernelRuntime[] = [];
  beforeAll(async () => {
    runtimes = await createRuntimes(variant);
  });
  afterAll(async () => {
    await Promise.all(runtimes.map((rt) => rt.close()));
  });

  it.each(CASES.map((c, i) => [label(c), c, i] as const))('%s: matches the reference, same bits on 1, 2, 3 threads', (_, c, i) => {
    const d = makeData(c, 100 + i);
    const results = runtimes.map((rt) => run(rt, c, d));
    expect(relativeToMaxError(results[0]!, d.want)).toBeLessThan(1e-5);
    for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
  });

  it('keeps SD-like magnitudes within 1e-5 of max |output| (320 channels, weights ~ 1/sqrt(9·Cin))', () => {
    const c: Case = { batch: 1, h: 16, w: 16, cin: 320, cout: 24, padding: 'SAME', bias: true };
    const d = makeData(c, 7, Math.sqrt(3 / (9 * 320)));
    expect(relativeToMaxError(run(runtimes[1]!, c, d), d.want)).toBeLessThan(1e-5);
  });
});
