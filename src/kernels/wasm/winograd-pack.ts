/**
 * Packs a 3x3 filter once for the Winograd F(4x4, 3x3) kernel
 * (assembly/winograd.ts): U = G g Gᵀ per (output, input) channel, computed
 * in float64 and rounded once, stored as 36 GEMM right-hand sides (one per
 * transform position xi = 6i + j), each as panels of 8 output channels x Cin
 * rows of 8 floats, zero-padded past Cout (the layout of gemm-pack.ts).
 * The packed filter is 4x the size of the 3x3 one (36 values per 9).
 */
import { f16ArrayToF32 } from '../../io/half.js';
import { UsageError } from '../../errors.js';
import type { WasmArena } from './arena.js';
import type { GemmWeightData } from './gemm-pack.js';

/** G of F(4x4, 3x3) with interpolation points 0, -1, 1, 1/2, -2 and infinity (Bᵀ and Aᵀ: assembly/winograd.ts). */
const G = [
  [1, 0, 0],
  [-1 / 3, 1 / 3, -1 / 3],
  [1 / 3, 1 / 3, 1 / 3],
  [-16 / 15, -8 / 15, -4 / 15],
  [1 / 15, -2 / 15, 4 / 15],
  [0, 0, 1],
] as const;

export interface PackedWinograd {
  readonly cin: number;
  readonly cout: number;
  /** Byte offset of the 36 x ceil(cout / 8) panels of cin x 8 floats. */
  readonly ptr: number;
  /** Byte offset of cout bias floats, or 0. */
  readonly biasPtr: number;
}

/** A function writing output channel `oc`'s 9·cin filter values (OHWI order: ky, kx, ci) as float32. */
export function filterChannels(w: GemmWeightData, channelSize: number): (oc: number, dst: Float32Array) => void {
  switch (w.dtype) {
    case 'float32':
      return (oc, dst) => dst.set(w.data.subarray(oc * channelSize, (oc + 1) * channelSize));
    case 'float16':
      return (oc, dst) => dst.set(f16ArrayToF32(w.data.subarray(oc * channelSize, (oc + 1) * channelSize)));
    case 'int8':
      return (oc, dst) => {
        const scale = w.scales[w.scales.length === 1 ? 0 : oc]!;
        for (let i = 0, s = oc * channelSize; i < channelSize; i++, s++) dst[i] = Math.fround(w.data[s]! * scale);
      };
  }
}

/** Bytes of the transformed filter alone (what counts against the arena's resident-weight budget). */
export function winogradFilterBytes(cin: number, cout: number): number {
  return 36 * Math.ceil(cout / 8) * cin * 32;
}

/** Bytes packWinogradWeights allocates (before alignment). */
export function packedWinogradBytes(cin: number, cout: number, withBias: boolean): number {
  return winogradFilterBytes(cin, cout) + (withBias ? cout * 4 : 0);
}

/**
 * Transforms and packs an OHWI [cout, 3, 3, cin] filter (given per output
 * channel by `channel`, see filterChannels) and copies the bias. The
 * filter stays resident: the caller reserves winogradFilterBytes of the
 * arena's resident-weight budget first (WasmArena.reserveResidentWeights).
 */
export function packWinogradWeights(
  arena: WasmArena,
  { cin, cout, channel, bias }: { cin: number; cout: number; channel: (oc: number, dst: Float32Array) => void; bias?: Float32Array },
): PackedWinograd {
  if (!Number.isInteger(cin) || !Number.isInteger(cout) || cin < 1 || cout < 1) {
    throw new UsageError(`Winograd weights: bad channel counts cin=${cin}, cout=${cout}`);
  }
  if (bias && bias.length !== cout) throw new UsageError(`Winograd bias: ${bias.length} elements for ${cout} output channels`);
  const panels = Math.ceil(cout / 8);
  const xiFloats = panels * cin * 8;
  const ptr = arena.alloc(36 * xiFloats * 4);
  const u = arena.f32(ptr, 36 * xiFloats);
  u.fill(0);
  const g = new Float32Array(9 * cin);
  const gG = new Float64Array(18); // g·Gᵀ: 3 rows (ky) x 6
  for (let oc = 0; oc < cout; oc++) {
    channel(oc, g);
    const lane = (oc >> 3) * cin * 8 + (oc & 7);
    for (let ci = 0; ci < cin; ci++) {
      for (let ky = 0; ky < 3; ky++) {
        const g0 = g[(ky * 3) * cin + ci]!, g1 = g[(ky * 3 + 1) * cin + ci]!, g2 = g[(ky * 3 + 2) * cin + ci]!;
        for (let j = 0; j < 6; j++) gG[ky * 6 + j] = g0 * G[j]![0] + g1 * G[j]![1] + g2 * G[j]![2];
      }
      for (let i = 0; i < 6; i++) {
        const [a, b, c] = G[i]!;
        for (let j = 0; j < 6; j++) {
          u[(i * 6 + j) * xiFloats + lane + ci * 8] = a * gG[j]! + b * gG[6 + j]! + c * gG[12 + j]!;
        }
      }
    }
  }
  let biasPtr = 0;
  if (bias) {
    biasPtr = arena.alloc(cout * 4);
    arena.f32(biasPtr, cout).set(bias);
  }
  return { cin, cout, ptr, biasPtr };
}
