/** TRANSPOSE by a constant permutation (input 1). */
import { UsageError } from '../../errors.js';
import { transpose } from '../../kernels/reference/transpose.js';
import { checkCounts, checkType, constantInts, input, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

function permOf(node: Node): number[] {
  const rank = input(node, 0).shape.length;
  const perm = constantInts(node, 1, 'permutation');
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) throw new UsageError(`TRANSPOSE perm [${perm.join(', ')}] for rank ${rank}`);
  return perm;
}

function prepare(node: Node): void {
  checkCounts(node, [2, 2], 1);
  checkType(input(node, 0), ['FLOAT32'], 'TRANSPOSE input');
  const shape = input(node, 0).shape;
  setShape(output(node), permOf(node).map((p) => shape[p]!));
}

function run(node: Node): void {
  store(output(node), transpose(input(node, 0).asTensor(), permOf(node)));
}

export const transposeOp: OpDefinition = { name: 'TRANSPOSE', prepare, run };
