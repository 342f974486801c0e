/**
 * The WebAssembly kernels as interpreter plug-ins, one file per op (more
 * join here as fast kernels land; CONV_2D runs as im2col + GEMM for now):
 *
 *   const runtime = await createKernelRuntime({ threads: 2 });
 *   const interp = Interpreter.load(file, wasmInterpreterOptions(runtime));
 *
 * Activations then live in the kernels' shared memory, so a fast kernel
 * takes tensors by pointer (view.byteOffset); nodes a fast kernel declines
 * run on the reference kernels over the same memory.
 */
import type { Int8GemmOptions } from '../../../kernels/wasm/gemm-int8-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import type { InterpreterOptions } from '../../interpreter/interpreter.js';
import { WasmMemoryArena } from '../../interpreter/tensor-arena.js';
import type { KernelOverrides } from '../op.js';
import { wasmFusedAttention } from './attention.js';
import { wasmBinary } from './binary.js';
import { wasmComposite } from './composite.js';
import { wasmConv2d } from './conv-2d.js';
import { wasmConv2dInt8 } from './conv-2d-int8.js';
import { wasmFullyConnected } from './fully-connected.js';
import { wasmFullyConnectedInt8 } from './fully-connected-int8.js';
import { wasmFusedGroupNorm } from './group-norm.js';
import { wasmLayerNorm } from './layer-norm.js';
import { wasmSoftmax } from './softmax.js';
import { wasmUnary } from './unary.js';

export interface WasmKernelOptions {
  /**
   * Run FULLY_CONNECTED and 1x1 CONV_2D with int8 weights as hybrid int8
   * kernels (activations quantized per row at run time, integer dot
   * products; see fully-connected-int8.ts, conv-2d-int8.ts) instead of in
   * float. `true` takes the accurate default (12-bit activations); options
   * pick another packing, e.g. `{ layout: 'u7' }` (faster, less accurate).
   * Default false.
   */
  int8Compute?: boolean | Int8GemmOptions;
}

export function wasmKernels(runtime: KernelRuntime, options: WasmKernelOptions = {}): KernelOverrides {
  return {
    FULLY_CONNECTED: options.int8Compute
      ? wasmFullyConnectedInt8(runtime, options.int8Compute === true ? {} : options.int8Compute)
      : wasmFullyConnected(runtime),
    CONV_2D: options.int8Compute ? wasmConv2dInt8(runtime, options.int8Compute === true ? {} : options.int8Compute) : wasmConv2d(runtime),
    SOFTMAX: wasmSoftmax(runtime),
    ADD: wasmBinary(runtime, 'ADD'),
    SUB: wasmBinary(runtime, 'SUB'),
    MUL: wasmBinary(runtime, 'MUL'),
    DIV: wasmBinary(runtime, 'DIV'),
    SQUARED_DIFFERENCE: wasmBinary(runtime, 'SQUARED_DIFFERENCE'),
    EXP: wasmUnary(runtime, () => 'EXP'),
    LOGISTIC: wasmUnary(runtime, () => 'LOGISTIC'),
    TANH: wasmUnary(runtime, () => 'TANH'),
    GELU: wasmUnary(runtime, (node) => ((node.options as { approximate?: boolean }).approximate ? 'GELU_TANH' : 'GELU')),
    FUSED_GELU: wasmUnary(runtime, () => 'GELU_TANH'),
    FUSED_LAYER_NORM: wasmLayerNorm(runtime),
    FUSED_GROUP_NORM: wasmFusedGroupNorm(runtime),
    FUSED_ATTENTION: wasmFusedAttention(runtime),
    STABLEHLO_COMPOSITE: wasmComposite(runtime),
  };
}

export function wasmInterpreterOptions(
  runtime: KernelRuntime, options: WasmKernelOptions = {},
): Required<Pick<InterpreterOptions, 'threads' | 'kernels' | 'arena'>> {
  return { threads: runtime.threads, kernels: wasmKernels(runtime, options), arena: () => new WasmMemoryArena(runtime.arena) };
}
