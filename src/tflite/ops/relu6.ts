/** RELU6 elementwise (reference: src/kernels/reference/unary.ts). */
import { UNARY_FUNCTIONS } from '../../kernels/reference/unary.js';
import { unaryOp } from './unary-op.js';

export const relu6Op = unaryOp('RELU6', () => UNARY_FUNCTIONS.RELU6);
