/** AVERAGE_POOL_2D (see pool-op.ts). */
import { poolOp } from './pool-op.js';

export const averagePool2dOp = poolOp('AVERAGE_POOL_2D');
