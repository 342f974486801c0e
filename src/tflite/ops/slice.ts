/** SLICE: constant begin and size (size -1 = to the end), any element type. */
import { UsageError } from '../../errors.js';
import { slice } from '../../kernels/reference/slice.js';
import { checkCounts, constantInts, input, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

function prepare(node: Node): void {
  checkCounts(node, [3, 3], 1);
  const shape = input(node, 0).shape;
  const begin = constantInts(node, 1, 'begin');
  const size = constantInts(node, 2, 'size');
  if (begin.length !== shape.length || size.length !== shape.length) throw new UsageError(`SLICE of [${shape.join(', ')}] with begin [${begin.join(', ')}] size [${size.join(', ')}]`);
  const out = shape.map((d, i) => (size[i] === -1 ? d - begin[i]! : size[i]!));
  shape.forEach((d, i) => {
    if (!(begin[i]! >= 0 && out[i]! >= 0 && begin[i]! + out[i]! <= d)) throw new UsageError(`SLICE begin ${begin[i]} size ${size[i]} is outside dim ${i} of [${shape.join(', ')}]`);
  });
  setShape(output(node), out);
}

function run(node: Node): void {
  store(output(node), slice(input(node, 0).typed(), constantInts(node, 1, 'begin'), constantInts(node, 2, 'size')));
}

export const sliceOp: OpDefinition = { name: 'SLICE', prepare, run };
