/** PAD (zeros) and PADV2 (a constant scalar value, input 2): paddings is a constant INT32 [rank, 2]. */
import { UsageError } from '../../errors.js';
import { pad } from '../../kernels/reference/pad.js';
import { constantInts, input, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

function paddingsOf(node: Node): [number, number][] {
  const rank = input(node, 0).shape.length;
  const flat = constantInts(node, 1, 'paddings');
  if (flat.length !== rank * 2) throw new UsageError(`${node.op} paddings has ${flat.length} values, rank ${rank} needs ${rank * 2}`);
  return Array.from({ length: rank }, (_, d) => [flat[2 * d]!, flat[2 * d + 1]!]);
}

export function padOp(name: 'PAD' | 'PADV2'): OpDefinition {
  return {
    name,
    prepare(node) {
      const p = paddingsOf(node);
      if (p.some(([a, b]) => a < 0 || b < 0)) throw new UsageError(`${name}: negative padding`);
      setShape(output(node), input(node, 0).shape.map((d, i) => d + p[i]![0] + p[i]![1]));
    },
    run(node) {
      const value = name === 'PADV2' && node.inputs[2] ? input(node, 2).data[0]! : 0;
      store(output(node), pad(input(node, 0).typed(), paddingsOf(node), value));
    },
  };
}

export const padOpDef = padOp('PAD');
