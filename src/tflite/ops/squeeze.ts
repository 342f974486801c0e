/** SQUEEZE: drops the listed size-1 dims (all size-1 dims when the list is empty). */
import { UsageError } from '../../errors.js';
import { checkCounts, input, optionsOf, output, setShape } from './node-access.js';
import type { Node } from './op.js';
import { reshapeLike } from './reshape-like.js';
import { resolveAxis } from './shared.js';

function prepare(node: Node): void {
  checkCounts(node, [1, 1], 1);
  const shape = input(node, 0).shape;
  const dims = optionsOf(node, 'SQUEEZE').squeezeDims ?? [];
  const drop = dims.length === 0 ? shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : dims.map((d) => resolveAxis(d, shape.length, 'SQUEEZE dim'));
  for (const d of drop) if (shape[d] !== 1) throw new UsageError(`SQUEEZE dim ${d} of [${shape.join(', ')}] is not 1`);
  setShape(output(node), shape.filter((_, i) => !drop.includes(i)));
}

export const squeezeOp = reshapeLike('SQUEEZE', prepare);
