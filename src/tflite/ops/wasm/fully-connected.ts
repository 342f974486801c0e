/**
 * FULLY_CONNECTED on the WebAssembly GEMM (src/kernels/wasm/gemm.ts): the
 * weights, FLOAT32 or compact FLOAT16 / symmetric per-channel INT8, are
 * packed once from their stored form (no float32 copy of the tensor is
 * made); input and output are read and written in place in the kernels'
 * memory, so the interpreter must keep activations there (WasmMemoryArena,
 * see wasmInterpreterOptions).
 */
import { UsageError } from '../../../errors.js';
import { gemm } from '../../../kernels/wasm/gemm.js';
import { packGemmWeights, type GemmWeightData, type PackedGemm } from '../../../kernels/wasm/gemm-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import type { ConstantValue } from '../../interpreter/constant-value.js';
import { input, optionsOf, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';

const CLAMPS: Record<string, { min: number; max: number } | undefined> = {
  NONE: undefined,
  RELU: { min: 0, max: Infinity },
  RELU6: { min: 0, max: 6 },
  RELU_N1_TO_1: { min: -1, max: 1 },
};

/** The GEMM's view of constant weights [units, depth], or undefined for encodings it does not take. */
function weightData(c: ConstantValue, units: number): GemmWeightData | undefined {
  if (c.storageType === 'FLOAT32') return { dtype: 'float32', data: c.raw as Float32Array };
  if (c.storageType === 'FLOAT16') return { dtype: 'float16', data: c.raw as Uint16Array };
  const q = c.quantization;
  const symmetric = q !== undefined && q.zeroPoint.every((z) => z === 0);
  const perChannel = q !== undefined && (q.scale.length === 1 || (q.scale.length === units && q.quantizedDimension === 0));
  if (c.storageType === 'INT8' && symmetric && perChannel) return { dtype: 'int8', data: c.raw as Int8Array, scales: Float32Array.from(q.scale) };
  return undefined;
}

export function wasmFullyConnected(runtime: KernelRuntime): KernelOverride {
  return {
    supports(node: Node) {
      const w = node.inputs[1];
      const bias = node.inputs[2];
      const o = optionsOf(node, 'FULLY_CONNECTED');
      return input(node, 0).type === 'FLOAT32' && !input(node, 0).isConstant && o.fusedActivationFunction in CLAMPS && w?.constant !== undefined
        && weightData(w.constant, w.shape[0]!) !== undefined && (!bias || bias.isConstant);
    },
    prepare(node: Node) {
      if (node.kernelState) return; // constant weights: packed once, kept across resizes
      const w = input(node, 1);
      const [units, depth] = w.shape as [number, number];
      const bias = node.inputs[2]?.constant?.float32();
      node.kernelState = packGemmWeights(runtime.arena, { ...weightData(w.constant!, units)!, k: depth, n: units, layout: 'nk', bias });
    },
    run(node: Node) {
      const x = input(node, 0).f32();
      const y = output(node).f32();
      if (x.buffer !== runtime.memory.buffer || y.buffer !== runtime.memory.buffer) {
        throw new UsageError('the WebAssembly FULLY_CONNECTED needs activations in the kernels\' memory (load with wasmInterpreterOptions)');
      }
      const packed = node.kernelState as PackedGemm;
      const clamp = CLAMPS[optionsOf(node, 'FULLY_CONNECTED').fusedActivationFunction];
      gemm(runtime, packed, { a: x.byteOffset, c: y.byteOffset, m: x.length / packed.k, clamp });
    },
  };
}
