/** RESIZE_NEAREST_NEIGHBOR with align_corners / half_pixel_centers (see resize-op.ts). */
import { resizeOp } from './resize-op.js';

export const resizeNearestNeighborOp = resizeOp('RESIZE_NEAREST_NEIGHBOR');
