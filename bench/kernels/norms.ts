/**
 * Group norm (32 groups, with and without the fused SiLU) at the issue's
 * shapes and layer norm at SD's transformer shapes, in GB/s of memory
 * traffic: group norm reads its input twice (statistics, then normalise)
 * and writes it once, 12 bytes per element; layer norm's rows stay in L1
 * between passes, 8 bytes per element. The reference point is the
 * machine's copy bandwidth measured in the same run (copyBandwidth).
 */
import { groupNorm, layerNorm } from '../../src/kernels/wasm/norms.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { time, type Timing } from './measure.js';

export interface GroupNormShape {
  height: number;
  width: number;
  channels: number;
  silu: boolean;
}

export const GROUP_NORM_SHAPES: GroupNormShape[] = [
  { height: 64, width: 64, channels: 320, silu: false },
  { height: 64, width: 64, channels: 320, silu: true },
  { height: 512, width: 512, channels: 128, silu: false },
  { height: 512, width: 512, channels: 128, silu: true },
];

export interface LayerNormShape {
  rows: number;
  size: number;
}

export const LAYER_NORM_SHAPES: LayerNormShape[] = [
  { rows: 2 * 4096, size: 320 },
  { rows: 77, size: 768 },
];

export function groupNormLabel(s: GroupNormShape): string {
  return `${s.height}x${s.width}x${s.channels}${s.silu ? ' +SiLU' : ''}`;
}

export function layerNormLabel(s: LayerNormShape): string {
  return `${s.rows}x${s.size}`;
}

/** Bytes group norm moves: two reads and one write of the tensor. */
export function groupNormBytes(s: GroupNormShape): number {
  return 12 * s.height * s.width * s.channels;
}

/** Bytes layer norm moves: one read and one write. */
export function layerNormBytes(s: LayerNormShape): number {
  return 8 * s.rows * s.size;
}

function fillRandom(out: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
}

export function timeGroupNorm(rt: KernelRuntime, s: GroupNormShape, maxTimeSeconds: number): Timing {
  const mark = rt.arena.top;
  const n = s.height * s.width * s.channels;
  const x = rt.arena.alloc(n * 4);
  const out = rt.arena.alloc(n * 4);
  const gamma = rt.arena.alloc(s.channels * 4);
  const beta = rt.arena.alloc(s.channels * 4);
  fillRandom(rt.arena.f32(x, n), 1);
  fillRandom(rt.arena.f32(gamma, s.channels), 2);
  fillRandom(rt.arena.f32(beta, s.channels), 3);
  const run = () =>
    groupNorm(rt, { x, out, gamma, beta, batch: 1, positions: s.height * s.width, channels: s.channels, groups: 32, eps: 1e-5, silu: s.silu });
  const timing = time(`group norm ${groupNormLabel(s)} x${rt.threads}`, run, maxTimeSeconds);
  rt.arena.reset(mark);
  return timing;
}

export function timeLayerNorm(rt: KernelRuntime, s: LayerNormShape, maxTimeSeconds: number): Timing {
  const mark = rt.arena.top;
  const n = s.rows * s.size;
  const x = rt.arena.alloc(n * 4);
  const out = rt.arena.alloc(n * 4);
  const gamma = rt.arena.alloc(s.size * 4);
  const beta = rt.arena.alloc(s.size * 4);
  fillRandom(rt.arena.f32(x, n), 1);
  fillRandom(rt.arena.f32(gamma, s.size), 2);
  fillRandom(rt.arena.f32(beta, s.size), 3);
  const run = () => layerNorm(rt, { x, out, gamma, beta, rows: s.rows, size: s.size, eps: 1e-5 });
  const timing = time(`layer norm ${layerNormLabel(s)} x${rt.threads}`, run, maxTimeSeconds);
  rt.arena.reset(mark);
  return timing;
}

/** The machine's memory copy bandwidth in GB/s (read + write), copying 128 MiB within the kernels' memory. */
export function copyBandwidth(rt: KernelRuntime, maxTimeSeconds: number): number {
  const mark = rt.arena.top;
  const floats = 32 << 20;
  const src = rt.arena.alloc(floats * 4);
  const dst = rt.arena.alloc(floats * 4);
  const a = rt.arena.f32(src, floats);
  const b = rt.arena.f32(dst, floats);
  a.fill(1);
  const { medianMs } = time('copy 128 MiB', () => b.set(a), maxTimeSeconds);
  rt.arena.reset(mark);
  return (2 * floats * 4) / medianMs / 1e6;
}
