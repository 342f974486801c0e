/**
 * What the hybrid int8 ops (FULLY_CONNECTED, 1x1 CONV_2D) share: packing a
 * layer's INT8 weights for the hybrid int8 GEMM (src/kernels/wasm/gemm-int8.ts)
 * with the int8Compute options, resident or per use (gemm-int8-pack.ts).
 *
 * Default packing: 'i16' layout with 12-bit activations (fewer where K is
 * large). Options may ask for 8 bits (as TFLite) or the faster 7-bit 'u7'
 * layout of the relaxed kernels; see DEFAULT_ACTIVATION_BITS for what each
 * costs in accuracy.
 */
import { UsageError } from '../../../errors.js';
import { maxActivationBits, packGemmInt8Weights, type Int8GemmOptions, type PackedGemmInt8 } from '../../../kernels/wasm/gemm-int8-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import type { ConstantValue } from '../../interpreter/constant-value.js';
import { takesGemmWeights } from './operands.js';

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
 * takesGemmWeights accepts; `units` rows of `depth` values) and `bias`:
 * resident within the arena's resident-weight budget, else packed per use
 * from the constant (read afresh from its file when streamed: no copy is
 * kept in JavaScript).
 */
export function packInt8Layer(
  runtime: KernelRuntime, w: ConstantValue, units: number, depth: number, bias: Float32Array | undefined, options: Int8GemmOptions,
): Int8GemmState {
  if (w.storageType !== 'INT8' || !takesGemmWeights(w, units)) throw new UsageError('hybrid int8 layer: weights are not symmetric INT8 per channel or per tensor');
  const layout = options.layout ?? 'i16';
  // More activation bits than a deep layer can sum without overflow: as many as it can.
  const activationBits = layout === 'u7' ? undefined : Math.min(options.activationBits ?? DEFAULT_ACTIVATION_BITS, maxActivationBits(depth));
  const packing = { ...options, layout, activationBits };
  const weights = {
    k: depth, n: units, bias,
    scales: Float32Array.from(w.quantization!.scale),
    read: () => (w.source ? w.source() : w.raw) as Int8Array,
  };
  return new Int8GemmState(packGemmInt8Weights(runtime, weights, packing));
}
