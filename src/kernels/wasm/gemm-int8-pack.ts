/**
 * Packs int8 weights (symmetric, per output channel, TFLite's [N, K] layout)
 * once for the hybrid int8 GEMM (assembly/gemm-int8.ts). The weights stay
 * int8 in the kernels' memory (a quarter of the float32 packing), in panels
 * of 8 output channels with K padded to a multiple of 8 by zeros:
 * - 'i16' layout: per pair of k steps 16 bytes, channel j at bytes 2j, 2j+1;
 * - 'u7' layout: per quad of k steps 32 bytes, channels 0-3 then 4-7, four
 *   bytes (k..k+3) each.
 * Next to them, per panel: 8 f32 channel scales, 8 i32 sums of the channel's
 * weights over K (the zero-point correction) and 8 f32 biases.
 */
import { UsageError } from '../../errors.js';
import type { KernelRuntime } from './runtime.js';

/** How activations are quantized per row at run time. */
export type ActivationQuantization = 'asymmetric' | 'symmetric';

/**
 * 'i16': int8 activations in [-128, 127] (stored as int16) and
 * i32x4.dot_i16x8_s, on both kernel variants. 'u7': activations in [0, 127]
 * (7 bits, the range the relaxed int8 dot product defines) and
 * i16x8.relaxed_dot_i8x16_i7x16_s, relaxed variant only.
 */
export type Int8Layout = 'i16' | 'u7';

export interface Int8Weights {
  /** Row n holds output channel n's K values: value = data[n·K + k] · scales[n] (or scales[0]). */
  data: Int8Array;
  scales: Float32Array;
  k: number;
  n: number;
  bias?: Float32Array;
}

export interface Int8GemmOptions {
  activations?: ActivationQuantization;
  /**
   * Bits per quantized activation with the 'i16' layout, 8 (default, as
   * TFLite's hybrid kernels) to 16: the int16 lanes hold more at no cost in
   * speed; limited so that 2^bits · 128 · K < 2^31 (no i32 overflow).
   * The 'u7' layout has 7.
   */
  activationBits?: number;
  /** Default: 'u7' on the relaxed variant, else 'i16'. */
  layout?: Int8Layout;
}

export interface PackedGemmInt8 {
  readonly k: number;
  readonly n: number;
  /** K padded to a multiple of 8. */
  readonly kp: number;
  readonly layout: Int8Layout;
  readonly activations: ActivationQuantization;
  readonly activationBits: number;
  /** Byte offset of the panels: ceil(n / 8) · kp · 8 bytes. */
  readonly ptr: number;
  /** Byte offset of the per-panel column data (96 bytes per panel). */
  readonly colsPtr: number;
}

/** Most activation bits the 'i16' layout takes for depth K (2^bits · 128 · Kp < 2^31), at most 16. */
export function maxActivationBits(k: number): number {
  const kp = Math.ceil(k / 8) * 8;
  return Math.min(16, Math.ceil(Math.log2(2 ** 31 / (128 * kp))) - 1);
}

/** The range quantized activations take (see quantizeRowsInt8 in assembly/gemm-int8.ts). */
export function activationRange(p: Pick<PackedGemmInt8, 'layout' | 'activations' | 'activationBits'>): { qmin: number; qmax: number } {
  if (p.layout === 'u7') return { qmin: p.activations === 'symmetric' ? 1 : 0, qmax: 127 };
  const qmax = 2 ** (p.activationBits - 1) - 1;
  return { qmin: p.activations === 'symmetric' ? -qmax : -qmax - 1, qmax };
}

/** Byte position of weight (column j in 0..7, step kk) inside a panel. */
function panelOffset(layout: Int8Layout, j: number, kk: number): number {
  if (layout === 'i16') return (kk >> 1) * 16 + j * 2 + (kk & 1);
  return (kk >> 2) * 32 + (j >> 2) * 16 + (j & 3) * 4 + (kk & 3);
}

export function packGemmInt8Weights(runtime: KernelRuntime, w: Int8Weights, options: Int8GemmOptions = {}): PackedGemmInt8 {
  const { k, n, data, scales, bias } = w;
  const layout = options.layout ?? (runtime.variant === 'relaxed' ? 'u7' : 'i16');
  const activations = options.activations ?? 'asymmetric';
  if (layout === 'u7' && runtime.variant !== 'relaxed') throw new UsageError("int8 GEMM: the 'u7' layout needs the relaxed-SIMD kernels");
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1) throw new UsageError(`int8 GEMM weights: bad shape K=${k}, N=${n}`);
  if (data.length !== k * n) throw new UsageError(`int8 GEMM weights: ${data.length} elements for N=${n} x K=${k}`);
  if (scales.length !== n && scales.length !== 1) throw new UsageError(`int8 GEMM weights: ${scales.length} scales for ${n} output channels (need ${n} or 1)`);
  if (bias && bias.length !== n) throw new UsageError(`int8 GEMM bias: ${bias.length} elements for N=${n}`);
  const kp = Math.ceil(k / 8) * 8;
  const activationBits = layout === 'u7' ? 7 : options.activationBits ?? 8;
  if (layout === 'u7' && options.activationBits !== undefined && options.activationBits !== 7) throw new UsageError("int8 GEMM: the 'u7' layout has 7-bit activations");
  if (!Number.isInteger(activationBits) || (layout === 'i16' && (activationBits < 8 || activationBits > 16)) || 2 ** activationBits * 128 * kp >= 2 ** 31) {
    throw new UsageError(`int8 GEMM: ${activationBits}-bit activations need 2^bits x 128 x K < 2^31 (K=${k}) and 8 to 16 bits`);
  }
  const panels = Math.ceil(n / 8);
  const panelBytes = kp * 8;
  const ptr = runtime.arena.alloc(panels * panelBytes, 64);
  const colsPtr = runtime.arena.alloc(panels * 96, 64);
  // Views after both allocations: each may have grown the memory.
  const out = new Int8Array(runtime.memory.buffer, ptr, panels * panelBytes);
  out.fill(0);
  const colF32 = runtime.arena.f32(colsPtr, panels * 24);
  const colI32 = new Int32Array(runtime.memory.buffer, colsPtr, panels * 24);
  colF32.fill(0);
  for (let col = 0; col < n; col++) {
    const p = col >> 3, j = col & 7;
    const base = p * panelBytes;
    let sum = 0;
    for (let kk = 0, i = col * k; kk < k; kk++, i++) {
      const v = data[i]!;
      out[base + panelOffset(layout, j, kk)] = v;
      sum += v;
    }
    colF32[p * 24 + j] = scales[scales.length === 1 ? 0 : col]!;
    colI32[p * 24 + 8 + j] = sum;
    colF32[p * 24 + 16 + j] = bias ? bias[col]! : 0;
  }
  return { k, n, kp, layout, activations, activationBits, ptr, colsPtr };
}
