/**
 * STABLEHLO_COMPOSITE: runs its decomposition subgraph (a fresh instance
 * per node, so each keeps its own shapes and memory plan). Two composites
 * the reference converter emits run fused kernels instead, when
 * OpContext.compositeFastPaths is on and the node has the expected form:
 *
 * - odml.group_norm: inputs (x, gamma, beta), channels on the last axis
 *   (channel_axis 3 / -1 / rank-1), attributes num_groups and eps/epsilon.
 * - odml.scaled_dot_product_attention: inputs (q, k, v[, mask]) in BTNH,
 *   attribute scale; no mask means causal, as in ai-edge-torch. A logit_cap
 *   (softcap) attribute falls back to the decomposition.
 *
 * The fast path trusts the composite's name: a file whose decomposition
 * computes something else (some upstream test files do) gives the named
 * function's result, not the decomposition's.
 */
import { UsageError } from '../../errors.js';
import { attention } from '../../kernels/reference/attention.js';
import { groupNorm } from '../../kernels/reference/group-norm.js';
import { decodeCompositeAttributes, numberAttribute } from './composite-attributes.js';
import { input, optionsOf, output, setShape, store } from './node-access.js';
import type { CallableSubgraph, Node, OpContext, OpDefinition } from './op.js';
import { floatOperand } from './shared.js';

export type FastPath =
  | { kind: 'group_norm'; groups: number; eps: number }
  | { kind: 'attention'; scale: number; causal: boolean };

export interface CompositeState {
  attrs: Record<string, unknown>;
  fast: FastPath | undefined;
  callee: CallableSubgraph | undefined;
}

function isFloat(node: Node, count: number): boolean {
  return node.inputs.length >= count && node.inputs.slice(0, count).every((t) => t?.type === 'FLOAT32') && node.outputs.length === 1;
}

function groupNormPath(node: Node, attrs: Record<string, unknown>): FastPath | undefined {
  if (node.inputs.length !== 3 || !isFloat(node, 3)) return undefined;
  const [x, gamma, beta] = node.inputs.map((t) => t!.shape);
  const rank = x!.length;
  const channels = x![rank - 1]!;
  const axis = numberAttribute(attrs, 'channel_axis') ?? -1;
  const groups = numberAttribute(attrs, 'num_groups');
  const eps = numberAttribute(attrs, 'eps', 'epsilon');
  const lastAxis = rank >= 2 && (axis === -1 || axis === rank - 1);
  const perChannel = (s: number[]): boolean => s.length === 1 && s[0] === channels;
  if (!lastAxis || groups === undefined || eps === undefined || !perChannel(gamma!) || !perChannel(beta!)) return undefined;
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) return undefined;
  return { kind: 'group_norm', groups, eps };
}

function attentionPath(node: Node, attrs: Record<string, unknown>): FastPath | undefined {
  const hasMask = node.inputs.length >= 4 && node.inputs[3] !== undefined;
  if (node.inputs.length > 4 || !isFloat(node, hasMask ? 4 : 3)) return undefined;
  const scale = numberAttribute(attrs, 'scale');
  if (scale === undefined || attrs['logit_cap'] !== undefined) return undefined;
  const [q, k, v] = node.inputs.map((t) => t?.shape ?? []);
  if (![q, k, v].every((s) => s!.length === 4)) return undefined;
  const [b, , n, h] = q as [number, number, number, number];
  const [kb, s, kn, kh] = k as [number, number, number, number];
  const [vb, vs, vn] = v as [number, number, number, number];
  if (kb !== b || vb !== b || kh !== h || vs !== s || vn !== kn || kn === 0 || n % kn !== 0) return undefined;
  return { kind: 'attention', scale, causal: !hasMask };
}

function prepare(node: Node, ctx: OpContext): void {
  const o = optionsOf(node, 'STABLEHLO_COMPOSITE');
  const name = o.name ?? '';
  const prev = node.state as CompositeState | undefined;
  const attrs = prev?.attrs ?? decodeCompositeAttributes(o.compositeAttributes, name);
  let fast: FastPath | undefined;
  if (ctx.compositeFastPaths && name === 'odml.group_norm') fast = groupNormPath(node, attrs);
  if (ctx.compositeFastPaths && name === 'odml.scaled_dot_product_attention') fast = attentionPath(node, attrs);
  const state: CompositeState = { attrs, fast, callee: prev?.callee };
  node.state = state;
  if (fast?.kind === 'group_norm') {
    setShape(output(node), input(node, 0).shape);
    return;
  }
  if (fast?.kind === 'attention') {
    const [b, t, n] = input(node, 0).shape as [number, number, number];
    setShape(output(node), [b, t, n, input(node, 2).shape[3]!]);
    return;
  }
  const callee = (state.callee ??= ctx.subgraph(o.decompositionSubgraphIndex));
  if (callee.inputs.length !== node.inputs.length || callee.outputs.length !== node.outputs.length) {
    throw new UsageError(`composite ${name}: decomposition subgraph ${o.decompositionSubgraphIndex} takes ${callee.inputs.length} inputs and gives ${callee.outputs.length} outputs, the node has ${node.inputs.length} and ${node.outputs.length}`);
  }
  node.inputs.forEach((t, i) => {
    if (!t) throw new UsageError(`composite ${name}: input ${i} is left out, its decomposition needs it`);
    if (t.type !== callee.inputs[i]!.type) throw new UsageError(`composite ${name}: input ${i} is ${t.type}, the decomposition takes ${callee.inputs[i]!.type}`);
    callee.resizeInput(i, t.shape);
  });
  callee.prepare();
  node.outputs.forEach((out, i) => setShape(out, callee.outputs[i]!.shape));
}

function run(node: Node): void {
  const { fast, callee } = node.state as CompositeState;
  if (fast?.kind === 'group_norm') {
    store(output(node), groupNorm(input(node, 0).asTensor(), floatOperand(input(node, 1)), floatOperand(input(node, 2)), { groups: fast.groups, eps: fast.eps }));
    return;
  }
  if (fast?.kind === 'attention') {
    const mask = node.inputs[3];
    store(output(node), attention(floatOperand(input(node, 0)), floatOperand(input(node, 1)), floatOperand(input(node, 2)), {
      scale: fast.scale,
      mask: mask ? floatOperand(mask) : null,
      causal: fast.causal,
    }));
    return;
  }
  node.inputs.forEach((t, i) => callee!.setInput(i, t!.data as ArrayLike<number>));
  callee!.run();
  node.outputs.forEach((out, i) => out.data.set(callee!.outputs[i]!.data as never));
}

export const stablehloCompositeOp: OpDefinition = { name: 'STABLEHLO_COMPOSITE', prepare, run };
