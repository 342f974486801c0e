/** MINIMUM elementwise with NumPy broadcasting, float32 or int32 (see binary-op.ts). */
import { binaryOp } from './binary-op.js';

export const minimumOp = binaryOp('MINIMUM');
