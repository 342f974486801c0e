/** SPLIT_V: inputs (tensor, size_splits, axis); one size may be -1 (the rest). */
import { UsageError } from '../../errors.js';
import { split } from '../../kernels/reference/split.js';
import { constantInts, input, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { resolveAxis } from './shared.js';

function resolve(node: Node): { sizes: number[]; axis: number } {
  const x = input(node, 0);
  const axis = resolveAxis(constantInts(node, 2, 'axis')[0] ?? 0, x.shape.length, 'SPLIT_V axis');
  const sizes = constantInts(node, 1, 'size_splits');
  const known = sizes.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  const filled = sizes.map((s) => (s === -1 ? x.shape[axis]! - known : s));
  if (sizes.length !== node.outputs.length || filled.reduce((a, b) => a + b, 0) !== x.shape[axis]) {
    throw new UsageError(`SPLIT_V sizes [${sizes.join(', ')}] do not split dim ${axis} of [${x.shape.join(', ')}] into ${node.outputs.length}`);
  }
  return { sizes: filled, axis };
}

function prepare(node: Node): void {
  const { sizes, axis } = resolve(node);
  const shape = input(node, 0).shape;
  node.outputs.forEach((out, k) => setShape(out, shape.map((d, i) => (i === axis ? sizes[k]! : d))));
}

function run(node: Node): void {
  const { sizes, axis } = resolve(node);
  split(input(node, 0).typed(), sizes, axis).forEach((p, i) => store(node.outputs[i]!, p));
}

export const splitVOp: OpDefinition = { name: 'SPLIT_V', prepare, run };
