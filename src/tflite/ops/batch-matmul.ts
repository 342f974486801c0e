/** BATCH_MATMUL: adj_x/adj_y, batch dims broadcast (either side may be a constant, also FLOAT16/INT8). */
import { UsageError } from '../../errors.js';
import { batchMatmul } from '../../kernels/reference/batch-matmul.js';
import { broadcastShapes } from '../../kernels/reference/tensor.js';
import { checkCounts, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { floatOperand } from './shared.js';

function prepare(node: Node): void {
  checkCounts(node, [2, 2], 1);
  const o = optionsOf(node, 'BATCH_MATMUL');
  const a = input(node, 0).shape;
  const b = input(node, 1).shape;
  if (a.length < 2 || b.length < 2) throw new UsageError(`BATCH_MATMUL needs rank >= 2, got [${a.join(', ')}] and [${b.join(', ')}]`);
  const [a0, a1] = a.slice(-2) as [number, number];
  const [b0, b1] = b.slice(-2) as [number, number];
  const [m, k] = o.adjX ? [a1, a0] : [a0, a1];
  const [kb, n] = o.adjY ? [b1, b0] : [b0, b1];
  if (k !== kb) throw new UsageError(`BATCH_MATMUL inner dims differ: [${a.join(', ')}] x [${b.join(', ')}]`);
  setShape(output(node), [...broadcastShapes(a.slice(0, -2), b.slice(0, -2)), m, n]);
}

function run(node: Node): void {
  const o = optionsOf(node, 'BATCH_MATMUL');
  store(output(node), batchMatmul(floatOperand(input(node, 0)), floatOperand(input(node, 1)), { adjX: o.adjX, adjY: o.adjY }));
}

export const batchMatmulOp: OpDefinition = { name: 'BATCH_MATMUL', prepare, run };
