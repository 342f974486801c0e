/** PADV2: PAD with a constant fill value (see pad.ts). */
import { padOp } from './pad.js';

export const padV2Op = padOp('PADV2');
