/**
 * RESHAPE: the new shape comes from input 1 (a constant shape tensor), or
 * else the new_shape option, or else the output tensor's shape in the file;
 * one -1 takes the remaining size.
 */
import { UsageError } from '../../errors.js';
import { sizeOf } from '../../kernels/reference/tensor.js';
import { checkCounts, constantInts, input, optionsOf, output, setShape } from './node-access.js';
import type { Node } from './op.js';
import { reshapeLike } from './reshape-like.js';

export function resolveNewShape(size: number, requested: readonly number[], what: string): number[] {
  const unknown = requested.filter((d) => d === -1).length;
  if (unknown > 1 || requested.some((d) => !Number.isInteger(d) || d < -1)) throw new UsageError(`${what}: bad shape [${requested.join(', ')}]`);
  const known = sizeOf(requested.filter((d) => d !== -1));
  const shape = requested.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (sizeOf(shape) !== size || shape.some((d) => !Number.isInteger(d))) {
    throw new UsageError(`${what}: cannot reshape ${size} elements to [${requested.join(', ')}]`);
  }
  return shape;
}

function prepare(node: Node): void {
  checkCounts(node, [1, 2], 1);
  const x = input(node, 0);
  const out = output(node);
  let requested: number[];
  if (node.inputs[1]) requested = constantInts(node, 1, 'new shape');
  else requested = optionsOf(node, 'RESHAPE').newShape ?? out.shape;
  if (x.type !== out.type) throw new UsageError(`RESHAPE from ${x.type} to ${out.type}`);
  setShape(out, resolveNewShape(x.size, requested, 'RESHAPE'));
}

export const reshapeOp = reshapeLike('RESHAPE', prepare);
