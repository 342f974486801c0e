/** SQUARE elementwise (reference: src/kernels/reference/unary.ts). */
import { UNARY_FUNCTIONS } from '../../kernels/reference/unary.js';
import { unaryOp } from './unary-op.js';

export const squareOp = unaryOp('SQUARE', () => UNARY_FUNCTIONS.SQUARE);
