/** MEAN and SUM over the axes given by input 1 (a constant INT32 tensor), with keep_dims. */
import { mean, sum } from '../../kernels/reference/reduce.js';
import { checkCounts, checkType, constantInts, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { resolveAxis } from './shared.js';

export function reduceOp(name: 'MEAN' | 'SUM'): OpDefinition {
  const axesOf = (node: Node): number[] => {
    const rank = input(node, 0).shape.length;
    return [...new Set(constantInts(node, 1, 'axes').map((a) => resolveAxis(a, rank, `${name} axis`)))];
  };
  return {
    name,
    prepare(node) {
      checkCounts(node, [2, 2], 1);
      const x = input(node, 0);
      checkType(x, ['FLOAT32'], `${name} input`);
      const axes = axesOf(node);
      const keep = optionsOf(node, name).keepDims;
      setShape(output(node), keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i)));
    },
    run(node) {
      const kernel = name === 'MEAN' ? mean : sum;
      store(output(node), kernel(input(node, 0).asTensor(), axesOf(node), optionsOf(node, name).keepDims));
    },
  };
}
