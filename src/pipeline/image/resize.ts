import type { RgbImage } from './rgb-image.js';

/** Keys' cubic with a = -0.5, the kernel PIL's BICUBIC uses. */
function cubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Taps {
  first: Int32Array; // first source index per output index
  count: Int32Array;
  weights: Float64Array; // count[i] normalised weights, `stride` apart
  stride: number;
}

/**
 * Weights for one axis, as PIL's antialiased resampling computes them: when
 * shrinking, the kernel is stretched by the scale so every source pixel
 * contributes (no aliasing); pixel centres sit at i + 0.5.
 */
function taps(src: number, dst: number): Taps {
  const scale = src / dst;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Float64Array(dst * stride);
  for (let i = 0; i < dst; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(centre - support + 0.5));
    const hi = Math.min(src, Math.trunc(centre + support + 0.5));
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const w = cubic((j - centre + 0.5) / filterScale);
      weights[i * stride + (j - lo)] = w;
      sum += w;
    }
    for (let j = 0; j < hi - lo; j++) weights[i * stride + j] /= sum || 1;
    first[i] = lo;
    count[i] = hi - lo;
  }
  return { first, count, weights, stride };
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Resizes an RGB image with antialiased bicubic filtering (PIL's default for Image.resize). */
export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  if (img.width === width && img.height === height) return img;
  const tx = taps(img.width, width);
  const ty = taps(img.height, height);
  // Horizontal pass, then vertical. Like PIL, the intermediate is rounded and
  // clamped to bytes: overshoot near edges is clipped before the second pass.
  const mid = new Uint8Array(img.height * width * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = 0; k < tx.count[x]; k++) acc += tx.weights[x * tx.stride + k] * img.data[(y * img.width + tx.first[x] + k) * 3 + c];
        mid[(y * width + x) * 3 + c] = clampByte(acc);
      }
    }
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = 0; k < ty.count[y]; k++) acc += ty.weights[y * ty.stride + k] * mid[((ty.first[y] + k) * width + x) * 3 + c];
        data[(y * width + x) * 3 + c] = clampByte(acc);
      }
    }
  }
  return { width, height, data };
}
