/** STABLEHLO_COMPOSITE fast paths (odml.group_norm, odml.scaled_dot_product_attention) on the WebAssembly kernels; decompositions stay as they are. */
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import type { CompositeState } from '../stablehlo-composite.js';
import { input } from '../node-access.js';
import type { KernelOverride } from '../op.js';
import { prepareCompositeAttention, runCompositeAttention } from './attention.js';
import { groupNormAffine, runGroupNorm, type Affine } from './group-norm.js';

export function wasmComposite(runtime: KernelRuntime): KernelOverride {
  return {
    supports(node) {
      const fast = (node.state as CompositeState).fast;
      return fast !== undefined && !input(node, 0).isConstant && (fast.kind !== 'attention' || input(node, 1).shape[1]! > 0);
    },
    prepare(node) {
      const fast = (node.state as CompositeState).fast!;
      if (fast.kind === 'group_norm') node.kernelState = groupNormAffine(runtime, node);
      else prepareCompositeAttention(runtime, node);
    },
    run(node) {
      const fast = (node.state as CompositeState).fast!;
      if (fast.kind === 'group_norm') runGroupNorm(runtime, node, node.kernelState as Affine, fast.groups, fast.eps, false);
      else runCompositeAttention(runtime, node, fast.scale, fast.causal);
    },
  };
}
