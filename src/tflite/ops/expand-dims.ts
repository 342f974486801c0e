/** EXPAND_DIMS: inserts a size-1 dim at the axis given by input 1 (negative counts from the end of the output). */
import { checkCounts, constantInts, input, output, setShape } from './node-access.js';
import type { Node } from './op.js';
import { reshapeLike } from './reshape-like.js';
import { resolveAxis } from './shared.js';

function prepare(node: Node): void {
  checkCounts(node, [2, 2], 1);
  const shape = [...input(node, 0).shape];
  const axis = resolveAxis(constantInts(node, 1, 'axis')[0] ?? 0, shape.length + 1, 'EXPAND_DIMS axis');
  shape.splice(axis, 0, 1);
  setShape(output(node), shape);
}

export const expandDimsOp = reshapeLike('EXPAND_DIMS', prepare);
