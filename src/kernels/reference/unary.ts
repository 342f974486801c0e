/**
 * Elementwise math ops of TFLite (RSQRT, SQRT, EXP, LOG, TANH, LOGISTIC,
 * RELU, RELU6, SIN, COS, ...) as float64 functions; mapElements (activation.ts)
 * applies one and rounds once to float32. GELU and HARD_SWISH are in activation.ts.
 */
import { sigmoidScalar } from './activation.js';

export type UnaryOp = 'RSQRT' | 'SQRT' | 'EXP' | 'LOG' | 'TANH' | 'LOGISTIC' | 'RELU' | 'RELU6' | 'RELU_N1_TO_1'
  | 'SIN' | 'COS' | 'ABS' | 'NEG' | 'SQUARE' | 'FLOOR' | 'CEIL';

export const UNARY_FUNCTIONS: Record<UnaryOp, (x: number) => number> = {
  RSQRT: (x) => 1 / Math.sqrt(x),
  SQRT: Math.sqrt,
  EXP: Math.exp,
  LOG: Math.log,
  TANH: Math.tanh,
  LOGISTIC: sigmoidScalar,
  RELU: (x) => Math.max(x, 0),
  RELU6: (x) => Math.min(Math.max(x, 0), 6),
  RELU_N1_TO_1: (x) => Math.min(Math.max(x, -1), 1),
  SIN: Math.sin,
  COS: Math.cos,
  ABS: Math.abs,
  NEG: (x) => -x,
  SQUARE: (x) => x * x,
  FLOOR: Math.floor,
  CEIL: Math.ceil,
};
