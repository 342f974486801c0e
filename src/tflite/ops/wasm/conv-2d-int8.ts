/**
 * CONV_2D for int8Compute: a 1x1 stride-1 filter with INT8 weights is the
 * hybrid int8 GEMM (src/kernels/wasm/gemm-int8.ts) over the NHWC image as
 * [N·H·W, Cin] rows, packed as FULLY_CONNECTED packs (int8-gemm-weights.ts).
 * Every other convolution runs on the float kernels of conv-2d.ts: the 3x3
 * ones as Winograd F(4x4, 3x3), which does 4x fewer multiplies than a direct
 * int8 GEMM would and, done in int8 itself, costs far more accuracy (bench
 * gemm-int8-accuracy --sections winograd: 6e-2 to 1e-1 relative L2 per layer
 * with 7- or 8-bit transformed rows, against 7e-3 to 1.5e-2 for direct rows).
 */
import { gemmInt8 } from '../../../kernels/wasm/gemm-int8.js';
import type { Int8GemmOptions } from '../../../kernels/wasm/gemm-int8-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { input, optionsOf, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { wasmConv2d } from './conv-2d.js';
import { Int8GemmState, packInt8Layer } from './int8-gemm-weights.js';
import { CLAMPS, pointer } from './operands.js';

/**
 * Whether a CONV_2D with this OHWI filter and strides runs as the hybrid
 * int8 GEMM when its weights are stored INT8: a 1x1 stride-1 filter, one
 * GEMM row per pixel.
 */
export function pointwiseConvShape(filter: readonly number[], o: { strideH: number; strideW: number }): boolean {
  return filter[1] === 1 && filter[2] === 1 && o.strideH === 1 && o.strideW === 1;
}

function pointwiseInt8(node: Node): boolean {
  const w = input(node, 1);
  return pointwiseConvShape(w.shape, optionsOf(node, 'CONV_2D')) && w.constant?.storageType === 'INT8';
}

export function wasmConv2dInt8(runtime: KernelRuntime, options: Int8GemmOptions = {}): KernelOverride {
  const float = wasmConv2d(runtime);
  return {
    supports: (node, ctx) => float.supports?.(node, ctx) ?? true,
    prepare(node: Node, ctx) {
      if (node.kernelState) return; // constant weights: packed once, kept across resizes
      if (!pointwiseInt8(node)) {
        float.prepare?.(node, ctx);
        return;
      }
      const w = input(node, 1);
      const [units, , , depth] = w.shape as [number, number, number, number];
      // INT8 storage that supports() accepted: symmetric per channel or per tensor.
      node.kernelState = packInt8Layer(runtime, w.constant!, units, depth, node.inputs[2]?.constant?.float32(), options);
    },
    run(node: Node, ctx) {
      if (!(node.kernelState instanceof Int8GemmState)) {
        float.run(node, ctx);
        return;
      }
      const { packed } = node.kernelState;
      const clamp = CLAMPS[optionsOf(node, 'CONV_2D').fusedActivationFunction as 'NONE'];
      const out = output(node);
      gemmInt8(runtime, packed, { a: pointer(runtime, input(node, 0)), c: pointer(runtime, out), m: out.size / packed.n, clamp });
    },
  };
}
