/** MEAN over constant axes (see reduce-op.ts). */
import { reduceOp } from './reduce-op.js';

export const meanOp = reduceOp('MEAN');
