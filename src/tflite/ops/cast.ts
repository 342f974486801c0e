/** CAST between FLOAT32, INT32, INT64, INT16, INT8, UINT8 and BOOL (types from the tensors; see the kernel for rounding). */
import { cast, type CastTarget } from '../../kernels/reference/cast.js';
import { checkCounts, checkType, input, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

const TYPES = ['FLOAT32', 'INT32', 'INT64', 'INT16', 'INT8', 'UINT8', 'BOOL'] as const;

function prepare(node: Node): void {
  checkCounts(node, [1, 1], 1);
  checkType(input(node, 0), TYPES, 'CAST input');
  checkType(output(node), TYPES, 'CAST output');
  setShape(output(node), input(node, 0).shape);
}

function run(node: Node): void {
  const x = input(node, 0);
  const out = output(node);
  store(out, { data: cast(x.data, out.type as CastTarget), shape: x.shape });
}

export const castOp: OpDefinition = { name: 'CAST', prepare, run };
