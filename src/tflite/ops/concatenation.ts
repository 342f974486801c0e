/** CONCATENATION along the axis option, any element type, then the fused activation (float). */
import { UsageError } from '../../errors.js';
import { concatenate } from '../../kernels/reference/concatenation.js';
import { input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { applyActivationInPlace, fusedActivation, resolveAxis } from './shared.js';

function prepare(node: Node): void {
  if (node.inputs.length < 1 || node.outputs.length !== 1) throw new UsageError('CONCATENATION needs inputs and one output');
  const parts = node.inputs.map((_, i) => input(node, i));
  const first = parts[0]!;
  const axis = resolveAxis(optionsOf(node, 'CONCATENATION').axis, first.shape.length, 'CONCATENATION axis');
  const shape = [...first.shape];
  for (const p of parts.slice(1)) {
    if (p.type !== first.type || p.shape.length !== shape.length || p.shape.some((d, i) => i !== axis && d !== shape[i])) {
      throw new UsageError(`CONCATENATION on axis ${axis}: ${first.describe()} and ${p.describe()} do not fit`);
    }
    shape[axis]! += p.shape[axis]!;
  }
  fusedActivation(optionsOf(node, 'CONCATENATION').fusedActivationFunction);
  setShape(output(node), shape);
}

function run(node: Node): void {
  const o = optionsOf(node, 'CONCATENATION');
  const out = output(node);
  store(out, concatenate(node.inputs.map((_, i) => input(node, i).typed()), o.axis));
  if (out.type === 'FLOAT32') applyActivationInPlace(out.f32(), fusedActivation(o.fusedActivationFunction));
}

export const concatenationOp: OpDefinition = { name: 'CONCATENATION', prepare, run };
