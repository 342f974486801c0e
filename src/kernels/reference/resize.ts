/**
 * RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR with TFLite's semantics
 * (tensorflow/lite/kernels/internal/reference/resize_*.h) on NHWC input and
 * output size [outH, outW]. Source coordinates are computed in float32 as
 * TFLite does (Math.fround), so the chosen pixels match it exactly:
 *
 *   scale = alignCorners && out > 1 ? (in - 1) / (out - 1) : in / out
 *   nearest:  src = min(alignCorners ? round((x + o) * scale) : floor((x + o) * scale), in - 1),
 *             o = halfPixelCenters ? 0.5 : 0, and src >= 0 with halfPixelCenters
 *   bilinear: src = halfPixelCenters ? (x + 0.5) * scale - 0.5 : x * scale,
 *             lo = max(floor(src), 0), hi = min(ceil(src), in - 1),
 *             weights 1 - (src - lo) and (src - lo)
 *
 * PyTorch equivalents: 'nearest' = (false, false), 'nearest-exact' =
 * halfPixelCenters, bilinear align_corners=True = alignCorners,
 * bilinear align_corners=False = halfPixelCenters.
 */
import { UsageError } from '../../errors.js';
import { dimsOf, type Tensor } from './tensor.js';

export interface ResizeOptions {
  readonly alignCorners?: boolean;
  readonly halfPixelCenters?: boolean;
}

const f32 = Math.fround;

function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : f32(inSize / outSize);
}

/** C's std::round: halves go away from zero. */
function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

function nearestSource(x: number, inSize: number, scale: number, options: ResizeOptions): number {
  const offset = options.halfPixelCenters ? 0.5 : 0;
  const scaled = f32((x + offset) * scale);
  let src = Math.min(options.alignCorners ? roundHalfAway(scaled) : Math.floor(scaled), inSize - 1);
  if (options.halfPixelCenters) src = Math.max(0, src);
  return src;
}

function bilinearSource(x: number, inSize: number, scale: number, halfPixelCenters: boolean) {
  const src = halfPixelCenters ? f32(f32((x + 0.5) * scale) - 0.5) : f32(x * scale);
  const lo = Math.max(Math.floor(src), 0);
  const hi = Math.min(Math.ceil(src), inSize - 1);
  return { lo, hi, frac: src - lo };
}

function checkSize(input: Tensor, size: readonly [number, number], what: string): number[] {
  const dims = dimsOf(input, 4, `${what} input`);
  if (!size.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new UsageError(`${what} output size must be two positive integers, got [${size.join(', ')}]`);
  }
  return dims;
}

/** Fills `out` (the interpreter passes the output tensor's memory) or a new array; `out` must not overlap the input. */
export function resizeNearest(input: Tensor, size: readonly [number, number], options: ResizeOptions = {}, out?: Float32Array): Tensor {
  const [batch, inH, inW, channels] = checkSize(input, size, 'resize nearest') as [number, number, number, number];
  const [outH, outW] = size;
  const scaleY = resizeScale(inH, outH, options.alignCorners ?? false);
  const scaleX = resizeScale(inW, outW, options.alignCorners ?? false);
  const length = batch * outH * outW * channels;
  if (out && out.length !== length) throw new UsageError(`resize nearest: output has ${out.length} elements, expected ${length}`);
  out ??= new Float32Array(length);
  const sources = Array.from({ length: outW }, (_, x) => nearestSource(x, inW, scaleX, options));
  const rowLength = outW * channels;
  for (let b = 0; b < batch; b++) {
    let previous = -1;
    for (let y = 0; y < outH; y++) {
      const sy = nearestSource(y, inH, scaleY, options);
      const row = (b * outH + y) * rowLength;
      if (sy === previous) {
        out.copyWithin(row, row - rowLength, row); // an upsample repeats the row just written
        continue;
      }
      previous = sy;
      const inRow = (b * inH + sy) * inW;
      for (let x = 0, o = row; x < outW; x++) {
        const from = (inRow + sources[x]!) * channels;
        if (channels >= 16) out.set(input.data.subarray(from, from + channels), o); // a memcpy pays past a few values
        else for (let c = 0; c < channels; c++) out[o + c] = input.data[from + c]!;
        o += channels;
      }
    }
  }
  return { data: out, shape: [batch, outH, outW, channels] };
}

export function resizeBilinear(input: Tensor, size: readonly [number, number], options: ResizeOptions = {}): Tensor {
  const [batch, inH, inW, channels] = checkSize(input, size, 'resize bilinear') as [number, number, number, number];
  const alignCorners = options.alignCorners ?? false;
  const halfPixelCenters = options.halfPixelCenters ?? false;
  if (alignCorners && halfPixelCenters) {
    throw new UsageError('resize bilinear: align_corners and half_pixel_centers cannot both be true');
  }
  const [outH, outW] = size;
  const scaleY = resizeScale(inH, outH, alignCorners);
  const scaleX = resizeScale(inW, outW, alignCorners);
  const at = (b: number, y: number, x: number, c: number): number =>
    input.data[((b * inH + y) * inW + x) * channels + c]!;
  const out = new Float32Array(batch * outH * outW * channels);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < outH; y++) {
      const sy = bilinearSource(y, inH, scaleY, halfPixelCenters);
      for (let x = 0; x < outW; x++) {
        const sx = bilinearSource(x, inW, scaleX, halfPixelCenters);
        for (let c = 0; c < channels; c++) {
          out[o++] =
            at(b, sy.lo, sx.lo, c) * (1 - sy.frac) * (1 - sx.frac) +
            at(b, sy.hi, sx.lo, c) * sy.frac * (1 - sx.frac) +
            at(b, sy.lo, sx.hi, c) * (1 - sy.frac) * sx.frac +
            at(b, sy.hi, sx.hi, c) * sy.frac * sx.frac;
        }
      }
    }
  }
  return { data: out, shape: [batch, outH, outW, channels] };
}
