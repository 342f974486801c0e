/** SOFTMAX over the last axis on the WebAssembly kernel. */
import { softmax } from '../../../kernels/wasm/softmax.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { input, optionsOf, output } from '../node-access.js';
import type { KernelOverride } from '../op.js';
import { pointer } from './operands.js';

export function wasmSoftmax(runtime: KernelRuntime): KernelOverride {
  return {
    supports: (node) => !input(node, 0).isConstant,
    run(node) {
      const x = input(node, 0);
      const size = x.shape[x.shape.length - 1] ?? 1;
      softmax(runtime, { x: pointer(runtime, x), out: pointer(runtime, output(node)), rows: size === 0 ? 0 : x.size / size, size, beta: optionsOf(node, 'SOFTMAX').beta });
    },
  };
}
