/** ABS elementwise (reference: src/kernels/reference/unary.ts). */
import { UNARY_FUNCTIONS } from '../../kernels/reference/unary.js';
import { unaryOp } from './unary-op.js';

export const absOp = unaryOp('ABS', () => UNARY_FUNCTIONS.ABS);
