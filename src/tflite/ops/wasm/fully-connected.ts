/**
 * FULLY_CONNECTED on the WebAssembly GEMM (src/kernels/wasm/gemm.ts): the
 * weights, FLOAT32 or compact FLOAT16 / symmetric per-channel INT8, are
 * packed once from their stored form (no float32 copy of the tensor is
 * made); input and output are read and written in place in the kernels'
 * memory, so the interpreter must keep activations there (WasmMemoryArena,
 * see wasmInterpreterOptions).
 */
import { gemm } from '../../../kernels/wasm/gemm.js';
import { packGemmWeights, type PackedGemm } from '../../../kernels/wasm/gemm-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { input, optionsOf, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { CLAMPS, gemmWeights, pointer, takesGemmWeights } from './operands.js';

export function wasmFullyConnected(runtime: KernelRuntime): KernelOverride {
  return {
    supports(node: Node) {
      const w = node.inputs[1];
      const bias = node.inputs[2];
      const o = optionsOf(node, 'FULLY_CONNECTED');
      return input(node, 0).type === 'FLOAT32' && !input(node, 0).isConstant && o.fusedActivationFunction in CLAMPS && w?.constant !== undefined
        && takesGemmWeights(w.constant, w.shape[0]!) && (!bias || bias.isConstant);
    },
    prepare(node: Node) {
      if (node.kernelState) return; // constant weights: packed once, kept across resizes
      const w = input(node, 1);
      const [units, depth] = w.shape as [number, number];
      const bias = node.inputs[2]?.constant?.float32();
      node.kernelState = packGemmWeights(runtime, { ...gemmWeights(w.constant!, units)!, k: depth, n: units, layout: 'nk', bias });
    },
    run(node: Node) {
      const packed = node.kernelState as PackedGemm;
      const clamp = CLAMPS[optionsOf(node, 'FULLY_CONNECTED').fusedActivationFunction as 'NONE'];
      const m = input(node, 0).size / packed.k;
      gemm(runtime, packed, { a: pointer(runtime, input(node, 0)), c: pointer(runtime, output(node)), m, clamp });
    },
  };
}
