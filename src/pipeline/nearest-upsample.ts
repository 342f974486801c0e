/**
 * RESIZE_NEAREST_NEIGHBOR for SD's 2x upsamplers (UNet and VAE decoder),
 * writing straight into the output tensor. The reference kernel builds its
 * result in a new array and copies it into the arena: at 512x512 the
 * decoder's three upsamples make 34 + 134 + 268 MB of such garbage, which is
 * collected late and was a quarter of a GB of the int8 pipeline's peak RSS.
 * Until the reference op writes into its output, the pipeline plugs this in
 * (WasmModelLoader).
 *
 * Only exact 2x of both spatial dims without align_corners or
 * half_pixel_centers: then TFLite's source pixel floor(x · float32(in/out))
 * is x >> 1 exactly (the scale is 0.5), so the output is the reference's,
 * bit for bit. Other resizes decline and run on the reference kernel.
 */
import { input, optionsOf, output } from '../tflite/ops/node-access.js';
import type { KernelOverride } from '../tflite/ops/op.js';

export const nearestUpsample2x: KernelOverride = {
  supports(node) {
    const o = optionsOf(node, 'RESIZE_NEAREST_NEIGHBOR');
    const x = input(node, 0);
    const y = output(node);
    return x.type === 'FLOAT32' && x.shape.length === 4 && !o.alignCorners && !o.halfPixelCenters
      && y.shape[1] === 2 * x.shape[1]! && y.shape[2] === 2 * x.shape[2]!;
  },
  run(node) {
    const src = input(node, 0).f32();
    const dst = output(node).f32();
    const [batch, h, w, c] = input(node, 0).shape as [number, number, number, number];
    const outRow = 2 * w * c;
    for (let b = 0; b < batch; b++) {
      for (let y = 0; y < h; y++) {
        const from = ((b * h + y) * w) * c;
        const to = (b * 2 * h + 2 * y) * outRow;
        for (let x = 0; x < w; x++) {
          const pixel = src.subarray(from + x * c, from + (x + 1) * c);
          dst.set(pixel, to + 2 * x * c);
          dst.set(pixel, to + (2 * x + 1) * c);
        }
        dst.copyWithin(to + outRow, to, to + outRow); // the odd row repeats the even one
      }
    }
  },
};
