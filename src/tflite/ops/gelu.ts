/** GELU: exact (erf) or, with the approximate option, the tanh form. */
import { geluScalar } from '../../kernels/reference/activation.js';
import { optionsOf } from './node-access.js';
import { unaryOp } from './unary-op.js';

export const geluOp = unaryOp('GELU', (node) => {
  const approximate = optionsOf(node, 'GELU').approximate;
  return (x) => geluScalar(x, approximate);
});
