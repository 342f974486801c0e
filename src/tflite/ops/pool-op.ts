/** AVERAGE_POOL_2D and MAX_POOL_2D on NHWC input: filter, stride, SAME/VALID, fused activation. */
import { UsageError } from '../../errors.js';
import { windowAxis } from '../../kernels/reference/padding.js';
import { averagePool2d, maxPool2d } from '../../kernels/reference/pool.js';
import { checkCounts, checkType, input, optionsOf, output, setShape, store } from './node-access.js';
import type { OpDefinition } from './op.js';
import { fusedActivation } from './shared.js';

export function poolOp(name: 'AVERAGE_POOL_2D' | 'MAX_POOL_2D'): OpDefinition {
  return {
    name,
    prepare(node) {
      checkCounts(node, [1, 1], 1);
      const x = input(node, 0);
      checkType(x, ['FLOAT32'], `${name} input`);
      if (x.shape.length !== 4) throw new UsageError(`${name} input must be NHWC, got [${x.shape.join(', ')}]`);
      const o = optionsOf(node, name);
      fusedActivation(o.fusedActivationFunction);
      const [n, h, w, c] = x.shape as [number, number, number, number];
      setShape(output(node), [n, windowAxis(o.padding, h, o.filterHeight, o.strideH, 1).outSize, windowAxis(o.padding, w, o.filterWidth, o.strideW, 1).outSize, c]);
    },
    run(node) {
      const o = optionsOf(node, name);
      const kernel = name === 'AVERAGE_POOL_2D' ? averagePool2d : maxPool2d;
      store(output(node), kernel(input(node, 0).asTensor(), {
        filter: [o.filterHeight, o.filterWidth],
        stride: [o.strideH, o.strideW],
        padding: o.padding,
        activation: fusedActivation(o.fusedActivationFunction),
      }));
    },
  };
}
