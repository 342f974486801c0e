/**
 * FULLY_CONNECTED with int8 weights as a dynamic-range ("hybrid") kernel, as
 * TFLite's hybrid FULLY_CONNECTED: the float input is quantized per row at
 * run time and multiplied in integers (src/kernels/wasm/gemm-int8.ts).
 * Selected by the `int8Compute` option of wasmInterpreterOptions. Weights
 * that are not symmetric int8 (per channel or per tensor) run on the float
 * GEMM as before. Int8 panels stay in the kernels' memory for good (a
 * quarter of the float32 packing; not streamed).
 *
 * Default packing: 'i16' layout with 12-bit activations (fewer where K is
 * large). Options may ask for 8 bits (as TFLite) or the faster 7-bit 'u7'
 * layout of the relaxed kernels; see DEFAULT_ACTIVATION_BITS for what each
 * costs in accuracy.
 */
import { gemmInt8 } from '../../../kernels/wasm/gemm-int8.js';
import { maxActivationBits, packGemmInt8Weights, type Int8GemmOptions, type PackedGemmInt8 } from '../../../kernels/wasm/gemm-int8-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { input, optionsOf, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { wasmFullyConnected } from './fully-connected.js';
import { CLAMPS, gemmWeights, pointer } from './operands.js';

/**
 * Activation bits of the default ('i16') packing. The int16 lanes take them
 * at the speed of 8 bits; on tiny-a's UNet (bench gemm-int8-accuracy) 8 bits,
 * as TFLite's hybrid kernels, moved the output by 1.4-2.3e-2 relative L2
 * from the weight-only int8 path, 12 bits (11 where K = 5120) by 9e-4.
 */
const DEFAULT_ACTIVATION_BITS = 12;

class Int8State {
  constructor(readonly packed: PackedGemmInt8) {}
}

export function wasmFullyConnectedInt8(runtime: KernelRuntime, options: Int8GemmOptions = {}): KernelOverride {
  const float = wasmFullyConnected(runtime);
  return {
    supports: (node, ctx) => float.supports?.(node, ctx) ?? true,
    prepare(node: Node, ctx) {
      if (node.kernelState) return; // constant weights: packed once, kept across resizes
      const w = input(node, 1);
      const [units, depth] = w.shape as [number, number];
      if (w.constant!.storageType !== 'INT8') {
        float.prepare?.(node, ctx); // checked without reading the values (a streamed constant is read per access)
        return;
      }
      // INT8 storage that supports() accepted: symmetric per channel or per tensor.
      const weights = gemmWeights(w.constant!, units) as { data: Int8Array; scales: Float32Array };
      const bias = node.inputs[2]?.constant?.float32();
      const layout = options.layout ?? 'i16';
      // More activation bits than a deep layer can sum without overflow: as many as it can.
      const activationBits = layout === 'u7' ? undefined : Math.min(options.activationBits ?? DEFAULT_ACTIVATION_BITS, maxActivationBits(depth));
      const packing = { ...options, layout, activationBits };
      node.kernelState = new Int8State(packGemmInt8Weights(runtime, { data: weights.data, scales: weights.scales, k: depth, n: units, bias }, packing));
    },
    run(node: Node, ctx) {
      if (!(node.kernelState instanceof Int8State)) {
        float.run(node, ctx);
        return;
      }
      const { packed } = node.kernelState;
      const clamp = CLAMPS[optionsOf(node, 'FULLY_CONNECTED').fusedActivationFunction as 'NONE'];
      const m = input(node, 0).size / packed.k;
      gemmInt8(runtime, packed, { a: pointer(runtime, input(node, 0)), c: pointer(runtime, output(node)), m, clamp });
    },
  };
}
