/** MUL with NumPy broadcasting and the fused activation (see binary-op.ts). */
import { binaryOp } from './binary-op.js';

export const mulOp = binaryOp('MUL');
