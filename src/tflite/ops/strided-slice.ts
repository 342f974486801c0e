/** STRIDED_SLICE: constant begin/end/strides with begin, end, ellipsis, new-axis and shrink-axis masks and offset. */
import { stridedSliceRanges, sliceStrided } from '../../kernels/reference/slice.js';
import { checkCounts, constantInts, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

function ranges(node: Node) {
  return stridedSliceRanges(
    input(node, 0).shape,
    constantInts(node, 1, 'begin'),
    constantInts(node, 2, 'end'),
    constantInts(node, 3, 'strides'),
    optionsOf(node, 'STRIDED_SLICE'),
  );
}

function prepare(node: Node): void {
  checkCounts(node, [4, 4], 1);
  setShape(output(node), ranges(node).outputShape);
}

function run(node: Node): void {
  const r = ranges(node).ranges;
  const out = output(node);
  store(out, sliceStrided(input(node, 0).typed(), r, out.shape));
}

export const stridedSliceOp: OpDefinition = { name: 'STRIDED_SLICE', prepare, run };
