/** An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array; // width * height * 3
}

/**
 * Decoder output [1, 3, H, W] in about [-1, 1] to 8-bit RGB, as the reference
 * pipeline does: rescale to [0, 255], clamp, then truncate (numpy astype).
 */
export function imageFromNchw(image: Float32Array, height: number, width: number): RgbImage {
  const plane = height * width;
  if (image.length !== 3 * plane) {
    throw new RangeError(`decoded image has ${image.length} values, expected 3x${height}x${width}`);
  }
  const data = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      // Same float32 arithmetic order as util.rescale: (x - (-1)) * 255 / 2 + 0.
      const v = Math.fround(Math.fround(Math.fround(image[c * plane + i] + 1) * 255) / 2);
      data[i * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
    }
  }
  return { width, height, data };
}

/** 8-bit RGB to the encoder's input [1, 3, H, W] scaled from [0, 255] to [-1, 1]. */
export function nchwFromImage(img: RgbImage): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) out[c * plane + i] = (img.data[i * 3 + c] * 2) / 255 - 1;
  }
  return out;
}
