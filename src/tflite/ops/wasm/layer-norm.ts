/** FUSED_LAYER_NORM (see interpreter/fusion/layer-norm.ts) on the WebAssembly kernel. */
import { layerNorm } from '../../../kernels/wasm/norms.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { fusedState } from '../../interpreter/fusion/fused-op.js';
import type { LayerNormState } from '../../interpreter/fusion/layer-norm.js';
import { input, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { pointer } from './operands.js';

export function wasmLayerNorm(runtime: KernelRuntime): KernelOverride {
  const vector = (node: Node, i: number) => (node.inputs[i] ? pointer(runtime, node.inputs[i]!) : undefined);
  return {
    supports: (node) => !fusedState(node).fallback && !input(node, 0).isConstant,
    prepare(node) {
      vector(node, 1);
      vector(node, 2); // copies constant gamma/beta in now, not while running
    },
    run(node) {
      const x = input(node, 0);
      const size = x.shape[x.shape.length - 1]!;
      layerNorm(runtime, {
        x: pointer(runtime, x), out: pointer(runtime, output(node)), rows: size === 0 ? 0 : x.size / size, size,
        gamma: vector(node, 1), beta: vector(node, 2), eps: fusedState<LayerNormState>(node).kernel.eps,
      });
    },
  };
}
