/**
 * The WebAssembly kernels as interpreter plug-ins, one file per op (more
 * ops join here as their fast kernels land):
 *
 *   const runtime = await createKernelRuntime({ threads: 2 });
 *   const interp = Interpreter.load(file, wasmInterpreterOptions(runtime));
 *
 * Activations then live in the kernels' shared memory, so a fast kernel
 * takes tensors by pointer (view.byteOffset); ops without a fast kernel
 * keep running on the reference kernels over the same memory.
 */
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import type { InterpreterOptions } from '../../interpreter/interpreter.js';
import { WasmMemoryArena } from '../../interpreter/tensor-arena.js';
import type { KernelOverrides } from '../op.js';
import { wasmFullyConnected } from './fully-connected.js';

export function wasmKernels(runtime: KernelRuntime): KernelOverrides {
  return { FULLY_CONNECTED: wasmFullyConnected(runtime) };
}

export function wasmInterpreterOptions(runtime: KernelRuntime): Required<Pick<InterpreterOptions, 'threads' | 'kernels' | 'arena'>> {
  return { threads: runtime.threads, kernels: wasmKernels(runtime), arena: () => new WasmMemoryArena(runtime.arena) };
}
