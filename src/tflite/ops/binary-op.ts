/**
 * The broadcasting binary ops: ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE on
 * float32 through the reference kernel with the fused activation; int32
 * (shape arithmetic) for ADD, SUB and MUL with wrap-around as in C;
 * MAXIMUM and MINIMUM on float32 or int32.
 */
import { UsageError } from '../../errors.js';
import type { FusedActivation } from '../../kernels/reference/activation.js';
import { binary, type BinaryOp } from '../../kernels/reference/elementwise.js';
import { broadcastShapes, broadcastStrides, sizeOf, stridesOf } from '../../kernels/reference/tensor.js';
import { checkCounts, input, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { floatOperand, fusedActivation } from './shared.js';

type BinaryName = BinaryOp | 'MAXIMUM' | 'MINIMUM';

const INT_OPS: Partial<Record<BinaryName, (a: number, b: number) => number>> = {
  ADD: (a, b) => (a + b) | 0,
  SUB: (a, b) => (a - b) | 0,
  MUL: (a, b) => Math.imul(a, b),
  MAXIMUM: Math.max,
  MINIMUM: Math.min,
};

/** NumPy-broadcast `fn` over two arrays of the same element type (the result rounds on store). */
function broadcastBinary(fn: (a: number, b: number) => number, a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[], out: Int32Array | Float32Array): void {
  const shape = broadcastShapes(aShape, bShape);
  const as = broadcastStrides(aShape, shape);
  const bs = broadcastStrides(bShape, shape);
  const os = stridesOf(shape);
  for (let i = 0; i < sizeOf(shape); i++) {
    let ai = 0;
    let bi = 0;
    for (let d = 0; d < shape.length; d++) {
      const k = Math.floor(i / os[d]!) % shape[d]!;
      ai += k * as[d]!;
      bi += k * bs[d]!;
    }
    out[i] = fn(a[ai]!, b[bi]!);
  }
}

export function binaryOp(op: BinaryName): OpDefinition {
  const activationOf = (node: Node): FusedActivation =>
    fusedActivation((node.options as { fusedActivationFunction?: FusedActivation }).fusedActivationFunction);
  return {
    name: op,
    inPlace: 'elementwise',
    prepare(node) {
      checkCounts(node, [2, 2], 1);
      const a = input(node, 0);
      const b = input(node, 1);
      const float = a.type === 'FLOAT32';
      if (a.type !== b.type || a.type !== output(node).type || !(float || (a.type === 'INT32' && INT_OPS[op]))) {
        throw new UsageError(`${op} on ${a.type} and ${b.type} to ${output(node).type} is not supported (FLOAT32${INT_OPS[op] ? ' or INT32' : ''} throughout)`);
      }
      activationOf(node);
      setShape(output(node), broadcastShapes(a.shape, b.shape));
    },
    run(node) {
      const a = input(node, 0);
      const b = input(node, 1);
      const out = output(node);
      if (a.type === 'INT32') {
        broadcastBinary(INT_OPS[op]!, a.data as Int32Array, a.shape, b.data as Int32Array, b.shape, out.data as Int32Array);
      } else if (op === 'MAXIMUM' || op === 'MINIMUM') {
        broadcastBinary(INT_OPS[op]!, floatOperand(a).data, a.shape, floatOperand(b).data, b.shape, out.f32());
      } else {
        store(out, binary(op, floatOperand(a), floatOperand(b), activationOf(node)));
      }
    },
  };
}
