/** MAX_POOL_2D (see pool-op.ts). */
import { poolOp } from './pool-op.js';

export const maxPool2dOp = poolOp('MAX_POOL_2D');
