/** HARD_SWISH: x * relu6(x + 3) / 6. */
import { hardSwishScalar } from '../../kernels/reference/activation.js';
import { unaryOp } from './unary-op.js';

export const hardSwishOp = unaryOp('HARD_SWISH', () => hardSwishScalar);
