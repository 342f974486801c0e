/**
 * Elementwise activations: TFLite's fused activations (applied by CONV_2D,
 * FULLY_CONNECTED, ADD, pooling, ...) and the smooth ones SD uses (GELU,
 * SiLU, CLIP's quick GELU), computed in float64 and rounded once to float32.
 */
import { UsageError } from '../../errors.js';
import { erf } from './erf.js';
import type { Tensor } from './tensor.js';

/** TFLite's ActivationFunctionType values that float kernels support (SIGN_BIT is not one). */
export type FusedActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH';

export function applyFusedActivation(x: number, activation: FusedActivation): number {
  switch (activation) {
    case 'NONE':
      return x;
    case 'RELU':
      return Math.max(x, 0);
    case 'RELU_N1_TO_1':
      return Math.min(Math.max(x, -1), 1);
    case 'RELU6':
      return Math.min(Math.max(x, 0), 6);
    case 'TANH':
      return Math.tanh(x);
    default:
      throw new UsageError(`unsupported fused activation ${String(activation)}`);
  }
}

export function sigmoidScalar(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** GELU: exact x * Phi(x) with erf, or the tanh approximation when `approximate`. */
export function geluScalar(x: number, approximate: boolean): number {
  if (approximate) {
    return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  }
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** SiLU (swish): x * sigmoid(x). */
export function siluScalar(x: number): number {
  return x * sigmoidScalar(x);
}

/** CLIP's activation: x * sigmoid(1.702 x). */
export function quickGeluScalar(x: number): number {
  return x * sigmoidScalar(1.702 * x);
}

/** TFLite HARD_SWISH: x * relu6(x + 3) / 6. */
export function hardSwishScalar(x: number): number {
  return (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
}

/** Applies a scalar function to every element. */
export function mapElements(x: Tensor, fn: (v: number) => number): Tensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = fn(x.data[i]!);
  return { data: out, shape: [...x.shape] };
}

export function gelu(x: Tensor, approximate = false): Tensor {
  return mapElements(x, (v) => geluScalar(v, approximate));
}

export function silu(x: Tensor): Tensor {
  return mapElements(x, siluScalar);
}

export function quickGelu(x: Tensor): Tensor {
  return mapElements(x, quickGeluScalar);
}

export function hardSwish(x: Tensor): Tensor {
  return mapElements(x, hardSwishScalar);
}

export function fusedActivation(x: Tensor, activation: FusedActivation): Tensor {
  return mapElements(x, (v) => applyFusedActivation(v, activation));
}
