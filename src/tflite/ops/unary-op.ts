/** Elementwise float ops of one input (RSQRT, EXP, LOGISTIC, GELU, ...): same shape out, may run in place. */
import { mapElements } from '../../kernels/reference/activation.js';
import { checkCounts, checkType, input, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

/** `fn` maps one float64 value; `fnFor` may pick it from the node's options (GELU's approximate). */
export function unaryOp(name: string, fnFor: (node: Node) => (x: number) => number): OpDefinition {
  return {
    name,
    inPlace: 'elementwise',
    prepare(node) {
      checkCounts(node, [1, 1], 1);
      checkType(input(node, 0), ['FLOAT32'], `${name} input`);
      setShape(output(node), input(node, 0).shape);
    },
    run(node) {
      store(output(node), mapElements(input(node, 0).asTensor(), fnFor(node)));
    },
  };
}
