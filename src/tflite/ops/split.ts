/** SPLIT: inputs (axis, tensor); num_splits equal pieces along the axis. */
import { UsageError } from '../../errors.js';
import { splitEven } from '../../kernels/reference/split.js';
import { constantInts, input, optionsOf, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { resolveAxis } from './shared.js';

function axisOf(node: Node): number {
  return resolveAxis(constantInts(node, 0, 'axis')[0] ?? 0, input(node, 1).shape.length, 'SPLIT axis');
}

function prepare(node: Node): void {
  const x = input(node, 1);
  const pieces = optionsOf(node, 'SPLIT').numSplits;
  const axis = axisOf(node);
  if (node.outputs.length !== pieces || pieces < 1 || x.shape[axis]! % pieces !== 0) {
    throw new UsageError(`SPLIT of dim ${axis} of [${x.shape.join(', ')}] into ${pieces} pieces with ${node.outputs.length} outputs`);
  }
  for (const out of node.outputs) setShape(out, x.shape.map((d, i) => (i === axis ? d / pieces : d)));
}

function run(node: Node): void {
  const parts = splitEven(input(node, 1).typed(), node.outputs.length, axisOf(node));
  parts.forEach((p, i) => store(node.outputs[i]!, p));
}

export const splitOp: OpDefinition = { name: 'SPLIT', prepare, run };
