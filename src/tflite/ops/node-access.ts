/** Small checked accessors the op files share. */
import { UsageError } from '../../errors.js';
import type { Tensor } from '../../kernels/reference/tensor.js';
import type { TypedTensor } from '../../kernels/reference/typed-tensor.js';
import type { RuntimeTensor } from '../interpreter/runtime-tensor.js';
import type { OpWithOptions, OpOptionsMap } from '../options.js';
import type { TensorTypeName } from '../types.js';
import type { Node } from './op.js';

/** Input `i`, which must be present. */
export function input(node: Node, i: number): RuntimeTensor {
  const t = node.inputs[i];
  if (!t) throw new UsageError(`${node.op} needs input ${i}`);
  return t;
}

export function output(node: Node, i = 0): RuntimeTensor {
  const t = node.outputs[i];
  if (!t) throw new UsageError(`${node.op} needs output ${i}`);
  return t;
}

export function optionsOf<K extends OpWithOptions>(node: Node, _op: K): OpOptionsMap[K] {
  return node.options as unknown as OpOptionsMap[K];
}

export function checkCounts(node: Node, inputs: readonly [number, number], outputs: number): void {
  const n = node.inputs.length;
  if (n < inputs[0] || n > inputs[1]) {
    const want = inputs[0] === inputs[1] ? `${inputs[0]}` : `${inputs[0]} to ${inputs[1]}`;
    throw new UsageError(`${node.op} takes ${want} inputs, got ${n}`);
  }
  if (node.outputs.length !== outputs) throw new UsageError(`${node.op} has ${outputs} output(s), got ${node.outputs.length}`);
}

export function checkType(t: RuntimeTensor, allowed: readonly TensorTypeName[], what: string): void {
  if (!allowed.includes(t.type)) throw new UsageError(`${what} ${t.name} is ${t.type}, expected ${allowed.join(' or ')}`);
}

/** The values of an input that must be constant (or at least already computed at prepare time). */
export function constantInts(node: Node, i: number, what: string): number[] {
  const t = input(node, i);
  if (!t.isConstant) throw new UsageError(`${node.op}: ${what} (input ${i}, ${t.name}) must be a constant tensor`);
  return t.ints();
}

/** Writes a kernel result into an output's bound memory, after checking it has the planned shape. */
export function store(out: RuntimeTensor, result: Tensor | TypedTensor): void {
  if (result.shape.length !== out.shape.length || result.shape.some((d, i) => d !== out.shape[i])) {
    throw new Error(`kernel gave [${result.shape.join(', ')}] for ${out.name}, planned [${out.shape.join(', ')}]`);
  }
  const dst = out.data;
  if (dst !== result.data) dst.set(result.data as never);
}

/** Sets the output's shape (shape inference). */
export function setShape(out: RuntimeTensor, shape: readonly number[]): void {
  out.shape = [...shape];
}
