/** CEIL elementwise (reference: src/kernels/reference/unary.ts). */
import { UNARY_FUNCTIONS } from '../../kernels/reference/unary.js';
import { unaryOp } from './unary-op.js';

export const ceilOp = unaryOp('CEIL', () => UNARY_FUNCTIONS.CEIL);
