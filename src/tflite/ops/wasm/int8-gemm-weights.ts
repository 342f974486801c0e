/**
 * What the hybrid int8 ops (FULLY_CONNECTED, 1x1 CONV_2D) share: packing a
 * layer's INT8 weights once for the hybrid int8 GEMM
 * (src/kernels/wasm/gemm-int8.ts) with the int8Compute options.
 *
 * Default packing: 'i16' layout with 12-bit activations (fewer where K is
 * large). Options may ask for 8 bits (as TFLite) or the faster 7-bit 'u7'
 * layout of the relaxed kernels; see DEFAULT_ACTIVATION_BITS for what each
 * costs in accuracy.
 */
import { maxActivationBits, packGemmInt8Weights, type Int8GemmOptions, type PackedGemmInt8 } from '../../../kernels/wasm/gemm-int8-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import type { ConstantValue } from '../../interpreter/constant-value.js';
import { gemmWeights } from './operands.js';

/**
 * Activation bits of the default ('i16') packing. The int16 lanes take them
 * at the speed of 8 bits; on tiny-a's UNet (bench gemm-int8-accuracy, FC
 * and 1x1 convolutions hybrid) 8 bits, as TFLite's hybrid kernels, moved the
 * output by 2.5-3.6e-2 relative L2 from the weight-only int8 path, 12 bits
 * (11 where K = 5120) by 1.4-1.7e-3, the 7-bit 'u7' layout (about 1.7x the
 * speed of 'i16') by 5.2-5.9e-2.
 */
const DEFAULT_ACTIVATION_BITS = 12;

/** A node's kernel state once its weights are packed for the hybrid int8 GEMM. */
export class Int8GemmState {
  constructor(readonly packed: PackedGemmInt8) {}
}

/**
 * Packs the INT8 weights `w` (symmetric per channel or per tensor, as
 * takesGemmWeights accepts; `units` rows of `depth` values) and `bias`.
 */
export function packInt8Layer(
  runtime: KernelRuntime, w: ConstantValue, units: number, depth: number, bias: Float32Array | undefined, options: Int8GemmOptions,
): Int8GemmState {
  const weights = gemmWeights(w, units) as { data: Int8Array; scales: Float32Array };
  const layout = options.layout ?? 'i16';
  // More activation bits than a deep layer can sum without overflow: as many as it can.
  const activationBits = layout === 'u7' ? undefined : Math.min(options.activationBits ?? DEFAULT_ACTIVATION_BITS, maxActivationBits(depth));
  const packing = { ...options, layout, activationBits };
  return new Int8GemmState(packGemmInt8Weights(runtime, { data: weights.data, scales: weights.scales, k: depth, n: units, bias }, packing));
}
