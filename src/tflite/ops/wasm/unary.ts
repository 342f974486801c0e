/** EXP, LOGISTIC, TANH, GELU (exact or tanh form) and FUSED_GELU on the WebAssembly kernel. */
import { unary, type WasmUnaryOp } from '../../../kernels/wasm/elementwise.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { fusedState } from '../../interpreter/fusion/fused-op.js';
import { input, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { pointer } from './operands.js';

/** `which` picks the kernel function for a node (GELU's approximate option). */
export function wasmUnary(runtime: KernelRuntime, which: (node: Node) => WasmUnaryOp): KernelOverride {
  return {
    supports: (node) => !input(node, 0).isConstant && !(node.op === 'FUSED_GELU' && fusedState(node).fallback),
    run(node) {
      unary(runtime, which(node), pointer(runtime, input(node, 0)), pointer(runtime, output(node)), input(node, 0).size);
    },
  };
}
