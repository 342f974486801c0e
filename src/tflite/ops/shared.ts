/** Helpers several op files share: weights as float32, fused activations, axes. */
import { UsageError } from '../../errors.js';
import { applyFusedActivation, type FusedActivation } from '../../kernels/reference/activation.js';
import type { Tensor } from '../../kernels/reference/tensor.js';
import type { RuntimeTensor } from '../interpreter/runtime-tensor.js';
import type { Activation } from '../options.js';

/**
 * A float operand: float32 data as is; a constant stored as FLOAT16 or
 * quantized INT8 (per-tensor or per-channel) dequantized once and cached.
 */
export function floatOperand(t: RuntimeTensor): Tensor {
  if (t.constant) return { data: t.constant.float32(), shape: t.shape };
  return t.asTensor();
}

export function fusedActivation(activation: Activation | undefined): FusedActivation {
  const a = activation ?? 'NONE';
  if (a === 'SIGN_BIT') throw new UsageError('fused activation SIGN_BIT is not supported for float tensors');
  return a;
}

/** Applies a fused activation in place. */
export function applyActivationInPlace(data: Float32Array, activation: FusedActivation): void {
  if (activation === 'NONE') return;
  for (let i = 0; i < data.length; i++) data[i] = applyFusedActivation(data[i]!, activation);
}

/** Resolves a possibly negative axis against a rank. */
export function resolveAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) throw new UsageError(`${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Whether two views are the same memory (an 'alias' op whose output shares its input's bytes). */
export function sameMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}
