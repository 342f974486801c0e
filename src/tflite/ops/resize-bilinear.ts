/** RESIZE_BILINEAR with align_corners / half_pixel_centers (see resize-op.ts). */
import { resizeOp } from './resize-op.js';

export const resizeBilinearOp = resizeOp('RESIZE_BILINEAR');
