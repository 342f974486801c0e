/** RELU_N1_TO_1 elementwise (reference: src/kernels/reference/unary.ts). */
import { UNARY_FUNCTIONS } from '../../kernels/reference/unary.js';
import { unaryOp } from './unary-op.js';

export const reluN1To1Op = unaryOp('RELU_N1_TO_1', () => UNARY_FUNCTIONS.RELU_N1_TO_1);
