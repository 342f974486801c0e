/**
 * Group norm (+ SiLU) on the WebAssembly kernel, for FUSED_GROUP_NORM
 * (interpreter/fusion/group-norm.ts) and the odml.group_norm composite's
 * fast path: channels-last x [N, ..., C].
 */
import { groupNorm } from '../../../kernels/wasm/norms.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { fusedState } from '../../interpreter/fusion/fused-op.js';
import type { GroupNormState } from '../../interpreter/fusion/group-norm.js';
import { input, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { copyIn, pointer } from './operands.js';

export interface Affine {
  gamma: number;
  beta: number;
}

/** Pointers of gamma and beta (ones and zeros when the graph has none), made at prepare time. */
export function groupNormAffine(runtime: KernelRuntime, node: Node): Affine {
  const c = input(node, 0).shape[input(node, 0).shape.length - 1]!;
  const vec = (i: number, fill: number) => (node.inputs[i] ? pointer(runtime, node.inputs[i]!) : copyIn(runtime, new Float32Array(c).fill(fill)));
  return { gamma: vec(1, 1), beta: vec(2, 0) };
}

export function runGroupNorm(runtime: KernelRuntime, node: Node, a: Affine, groups: number, eps: number, silu: boolean): void {
  const x = input(node, 0);
  const batch = x.shape[0]!;
  const channels = x.shape[x.shape.length - 1]!;
  groupNorm(runtime, {
    x: pointer(runtime, x), out: pointer(runtime, output(node)), ...a,
    batch, positions: batch * channels === 0 ? 0 : x.size / (batch * channels), channels, groups, eps, silu,
  });
}

export function wasmFusedGroupNorm(runtime: KernelRuntime): KernelOverride {
  return {
    supports: (node) => !fusedState(node).fallback && !input(node, 0).isConstant,
    prepare(node) {
      node.kernelState = groupNormAffine(runtime, node);
    },
    run(node) {
      const s = fusedState<GroupNormState>(node).kernel;
      runGroupNorm(runtime, node, node.kernelState as Affine, s.groups, s.eps, s.silu);
    },
  };
}
