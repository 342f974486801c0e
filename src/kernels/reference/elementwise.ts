/**
 * Broadcasting binary ops (ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE) with
 * NumPy's rules and TFLite's optional fused activation. Each result is
 * computed in float64 and rounded once, which for these ops equals
 * float32 arithmetic exactly.
 */
import { applyFusedActivation, type FusedActivation } from './activation.js';
import { broadcastShapes, broadcastStrides, sizeOf, stridesOf, type Tensor } from './tensor.js';

export type BinaryOp = 'ADD' | 'SUB' | 'MUL' | 'DIV' | 'SQUARED_DIFFERENCE';

const OPS: Record<BinaryOp, (a: number, b: number) => number> = {
  ADD: (a, b) => a + b,
  SUB: (a, b) => a - b,
  MUL: (a, b) => a * b,
  DIV: (a, b) => a / b,
  SQUARED_DIFFERENCE: (a, b) => (a - b) * (a - b),
};

export function binary(op: BinaryOp, a: Tensor, b: Tensor, activation: FusedActivation = 'NONE'): Tensor {
  const fn = OPS[op];
  const shape = broadcastShapes(a.shape, b.shape);
  const aStrides = broadcastStrides(a.shape, shape);
  const bStrides = broadcastStrides(b.shape, shape);
  const outStrides = stridesOf(shape);
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    let ai = 0;
    let bi = 0;
    for (let d = 0; d < shape.length; d++) {
      const index = Math.floor(i / outStrides[d]!) % shape[d]!;
      ai += index * aStrides[d]!;
      bi += index * bStrides[d]!;
    }
    out[i] = applyFusedActivation(fn(a.data[ai]!, b.data[bi]!), activation);
  }
  return { data: out, shape };
}

export const add = (a: Tensor, b: Tensor, activation?: FusedActivation): Tensor => binary('ADD', a, b, activation);
export const sub = (a: Tensor, b: Tensor, activation?: FusedActivation): Tensor => binary('SUB', a, b, activation);
export const mul = (a: Tensor, b: Tensor, activation?: FusedActivation): Tensor => binary('MUL', a, b, activation);
export const div = (a: Tensor, b: Tensor, activation?: FusedActivation): Tensor => binary('DIV', a, b, activation);
export const squaredDifference = (a: Tensor, b: Tensor): Tensor => binary('SQUARED_DIFFERENCE', a, b);
