/** GATHER: params (any type) indexed along `axis` by INT32/INT64 indices (which may be computed at run time). */
import { UsageError } from '../../errors.js';
import { gather } from '../../kernels/reference/gather.js';
import { checkCounts, checkType, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { resolveAxis } from './shared.js';

function geometry(node: Node): { axis: number; batchDims: number } {
  const o = optionsOf(node, 'GATHER');
  const params = input(node, 0).shape;
  const indices = input(node, 1).shape;
  const axis = resolveAxis(o.axis, params.length, 'GATHER axis');
  const batchDims = o.batchDims < 0 ? o.batchDims + indices.length : o.batchDims;
  if (batchDims < 0 || batchDims > axis) throw new UsageError(`GATHER batch_dims ${o.batchDims} with axis ${axis}`);
  return { axis, batchDims };
}

function prepare(node: Node): void {
  checkCounts(node, [2, 2], 1);
  checkType(input(node, 1), ['INT32', 'INT64'], 'GATHER indices');
  const { axis, batchDims } = geometry(node);
  const params = input(node, 0).shape;
  const indices = input(node, 1).shape;
  setShape(output(node), [...params.slice(0, axis), ...indices.slice(batchDims), ...params.slice(axis + 1)]);
}

function run(node: Node): void {
  const { axis, batchDims } = geometry(node);
  const idx = input(node, 1);
  const indices = idx.type === 'INT32' ? (idx.data as Int32Array) : Int32Array.from(idx.ints());
  store(output(node), gather(input(node, 0).typed(), { data: indices, shape: idx.shape }, axis, batchDims));
}

export const gatherOp: OpDefinition = { name: 'GATHER', prepare, run };
