/**
 * A fused node replacing a matched region of builtin ops. Its kernel says
 * at each prepare whether it applies to the current shapes; when it does
 * not (say a resize broke an assumption), the original ops run instead,
 * with their intermediate tensors in private memory, so fusion never
 * changes what a graph computes beyond float rounding.
 */
import { SdError, UsageError } from '../../../errors.js';
import { allocTyped } from '../dtype.js';
import type { Node, OpContext, OpDefinition } from '../../ops/op.js';
import type { RuntimeTensor } from '../runtime-tensor.js';
import type { Step } from '../subgraph-executor.js';

export interface FusedKernel<S> {
  /** Op name shown in profiles and usable as a KernelOverride key: 'FUSED_ATTENTION', ... */
  readonly name: string;
  /** Sets the output shapes and returns true when the fused kernel handles the current shapes. */
  prepare(node: Node, state: S): boolean;
  run(node: Node, state: S): void;
}

export interface FusedState<S> {
  readonly kernel: S;
  readonly original: readonly Step[];
  fallback: boolean;
}

export function fusedStep<S>(
  kernel: FusedKernel<S>,
  kernelState: S,
  region: ReadonlySet<Step>,
  order: readonly Step[],
  inputs: readonly (RuntimeTensor | undefined)[],
  output: RuntimeTensor,
): Step {
  const original = order.filter((s) => region.has(s));
  const anchor = original[original.length - 1]!;
  const node: Node = {
    index: anchor.node.index,
    op: kernel.name,
    options: {},
    inputs,
    outputs: [output],
    state: { kernel: kernelState, original, fallback: false } satisfies FusedState<S>,
    kernelState: undefined,
  };
  const def: OpDefinition = {
    name: kernel.name,
    prepare(n: Node, ctx: OpContext) {
      const st = n.state as FusedState<S>;
      st.fallback = !kernel.prepare(n, st.kernel);
      if (!st.fallback) return;
      for (const s of st.original) {
        try {
          s.def.prepare(s.node, ctx);
        } catch (err) {
          if (!(err instanceof SdError)) throw err;
          throw new UsageError(`operator ${s.node.index} (${s.node.op}), run unfused: ${err.message}`);
        }
        for (const t of s.node.outputs) if (t !== output) t.bind(allocTyped(t.type, t.size));
      }
    },
    run(n: Node, ctx: OpContext) {
      const st = n.state as FusedState<S>;
      if (!st.fallback) kernel.run(n, st.kernel);
      else for (const s of st.original) s.def.run(s.node, ctx);
    },
  };
  return { node, def, run: def.run };
}

/** The state of a fused node: its kernel's parameters and whether the last prepare fell back to the original ops. */
export function fusedState<S>(node: Node): FusedState<S> {
  return node.state as FusedState<S>;
}
