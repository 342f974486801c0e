/**
 * SHAPE: the input's shape as INT32 (or INT64) [rank]. It reads only the
 * input's shape, so the executor evaluates it while preparing, together
 * with the integer ops that consume it (STRIDED_SLICE, MUL, CONCATENATION,
 * ...), and RESHAPE / RESIZE_* see the values as if they were constants.
 */
import { UsageError } from '../../errors.js';
import { checkCounts, input, output, setShape } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

function prepare(node: Node): void {
  checkCounts(node, [1, 1], 1);
  const out = output(node);
  if (out.type !== 'INT32' && out.type !== 'INT64') throw new UsageError(`SHAPE output must be INT32 or INT64, got ${out.type}`);
  setShape(out, [input(node, 0).shape.length]);
}

function run(node: Node): void {
  const out = output(node);
  const shape = input(node, 0).shape;
  if (out.type === 'INT64') (out.data as BigInt64Array).set(shape.map(BigInt));
  else (out.data as Int32Array).set(shape);
}

export const shapeOp: OpDefinition = { name: 'SHAPE', prepare, run, readsShapeOnly: true };
