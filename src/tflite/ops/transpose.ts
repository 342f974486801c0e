/** TRANSPOSE by a constant permutation (input 1), any element type. */
import { UsageError } from '../../errors.js';
import { permute } from '../../kernels/reference/permute.js';
import { checkCounts, constantInts, input, output, setShape, store } from './node-access.js';
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
  const shape = input(node, 0).shape;
  setShape(output(node), permOf(node).map((p) => shape[p]!));
}

function run(node: Node): void {
  store(output(node), permute(input(node, 0).typed(), permOf(node)));
}

export const transposeOp: OpDefinition = { name: 'TRANSPOSE', prepare, run };
