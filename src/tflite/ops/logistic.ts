/** LOGISTIC elementwise (reference: src/kernels/reference/unary.ts). */
import { UNARY_FUNCTIONS } from '../../kernels/reference/unary.js';
import { unaryOp } from './unary-op.js';

export const logisticOp = unaryOp('LOGISTIC', () => UNARY_FUNCTIONS.LOGISTIC);
