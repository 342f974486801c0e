/** SOFTMAX over the last axis with beta. */
import { softmax } from '../../kernels/reference/softmax.js';
import { checkCounts, checkType, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

function prepare(node: Node): void {
  checkCounts(node, [1, 1], 1);
  checkType(input(node, 0), ['FLOAT32'], 'SOFTMAX input');
  setShape(output(node), input(node, 0).shape);
}

function run(node: Node): void {
  store(output(node), softmax(input(node, 0).asTensor(), optionsOf(node, 'SOFTMAX').beta));
}

export const softmaxOp: OpDefinition = { name: 'SOFTMAX', prepare, run };
