/** ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE on float32 with broadcasting and fused activation, on the WebAssembly kernel. */
import type { FusedActivation } from '../../../kernels/reference/activation.js';
import type { BinaryOp } from '../../../kernels/reference/elementwise.js';
import { binary } from '../../../kernels/wasm/elementwise.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { input, output } from '../node-access.js';
import type { KernelOverride } from '../op.js';
import { pointer } from './operands.js';

export function wasmBinary(runtime: KernelRuntime, op: BinaryOp): KernelOverride {
  const activation = (options: Readonly<Record<string, unknown>>) => (options['fusedActivationFunction'] as FusedActivation | undefined) ?? 'NONE';
  return {
    supports: (node) => input(node, 0).type === 'FLOAT32', // the op's prepare already refused SIGN_BIT
    prepare(node) {
      for (const t of node.inputs) if (t?.isConstant) pointer(runtime, t);
    },
    run(node) {
      const [a, b] = [input(node, 0), input(node, 1)];
      binary(runtime, op, { ptr: pointer(runtime, a), shape: a.shape }, { ptr: pointer(runtime, b), shape: b.shape }, pointer(runtime, output(node)), activation(node.options));
    },
  };
}
