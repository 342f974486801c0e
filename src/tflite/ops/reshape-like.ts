/** Shared by RESHAPE, SQUEEZE and EXPAND_DIMS: same bytes, new shape, so the output aliases the input. */
import { input, output } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { sameMemory } from './shared.js';

export function copyUnlessAliased(node: Node): void {
  const src = input(node, 0).data;
  const dst = output(node).data;
  if (!sameMemory(src, dst)) dst.set(src as never);
}

export function reshapeLike(name: string, prepare: (node: Node) => void): OpDefinition {
  return { name, prepare, run: copyUnlessAliased, inPlace: 'alias' };
}
