/**
 * FULLY_CONNECTED with int8 weights as a dynamic-range ("hybrid") kernel, as
 * TFLite's hybrid FULLY_CONNECTED: the float input is quantized per row at
 * run time and multiplied in integers (src/kernels/wasm/gemm-int8.ts).
 * Selected by the `int8Compute` option of wasmInterpreterOptions. Weights
 * that are not symmetric int8 (per channel or per tensor) run on the float
 * GEMM as before. Int8 panels (a quarter of the float32 packing) count
 * against the arena's resident-weight budget; past it they are packed
 * before each use, as float panels are. Packing options: see
 * int8-gemm-weights.ts.
 */
import { gemmInt8 } from '../../../kernels/wasm/gemm-int8.js';
import type { Int8GemmOptions } from '../../../kernels/wasm/gemm-int8-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { input, optionsOf, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { wasmFullyConnected } from './fully-connected.js';
import { Int8GemmState, packInt8Layer } from './int8-gemm-weights.js';
import { CLAMPS, pointer } from './operands.js';

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
      node.kernelState = packInt8Layer(runtime, w.constant!, units, depth, node.inputs[2]?.constant?.float32(), options);
    },
    run(node: Node, ctx) {
      if (!(node.kernelState instanceof Int8GemmState)) {
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
