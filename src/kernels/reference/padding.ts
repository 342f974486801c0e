/**
 * Output size and padding of a sliding window (convolution, pooling) along
 * one spatial dimension, with TFLite's rules for SAME and VALID
 * (tensorflow/lite/kernels/padding.h): SAME gives ceil(in / stride) outputs
 * and splits the needed padding with the smaller half before, the larger
 * after; VALID pads nothing. Explicit pads are ours (the interpreter may fold
 * a PAD op into the convolution).
 */
import { UsageError } from '../../errors.js';

export interface ExplicitPadding {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

export type Padding = 'SAME' | 'VALID' | ExplicitPadding;

export interface WindowAxis {
  /** Number of output positions. */
  readonly outSize: number;
  /** Padding before the first input element (the window of output 0 starts at -before). */
  readonly before: number;
  readonly after: number;
}

export function windowAxis(
  padding: 'SAME' | 'VALID' | readonly [before: number, after: number],
  inSize: number,
  filterSize: number,
  stride: number,
  dilation: number,
): WindowAxis {
  if (!(stride >= 1 && dilation >= 1 && filterSize >= 1) || ![stride, dilation, filterSize].every(Number.isInteger)) {
    throw new UsageError(`window needs integer stride, dilation and filter size >= 1 (got ${stride}, ${dilation}, ${filterSize})`);
  }
  const effective = (filterSize - 1) * dilation + 1;
  let outSize: number;
  let before = 0;
  let after = 0;
  if (padding === 'SAME') {
    outSize = Math.ceil(inSize / stride);
    const total = Math.max((outSize - 1) * stride + effective - inSize, 0);
    before = Math.floor(total / 2);
    after = total - before;
  } else if (padding === 'VALID') {
    outSize = Math.floor((inSize - effective + stride) / stride);
  } else {
    [before, after] = padding;
    if (!Number.isInteger(before) || !Number.isInteger(after) || before < 0 || after < 0) {
      throw new UsageError(`explicit padding must be non-negative integers, got ${before}, ${after}`);
    }
    outSize = Math.floor((inSize + before + after - effective) / stride) + 1;
  }
  if (outSize < 1) {
    throw new UsageError(`window of size ${effective} does not fit an input of size ${inSize} with this padding`);
  }
  return { outSize, before, after };
}

/** Both spatial axes (height, width) of a 2-D window. */
export function window2d(
  padding: Padding,
  inH: number,
  inW: number,
  filterH: number,
  filterW: number,
  stride: readonly [number, number],
  dilation: readonly [number, number],
): { readonly h: WindowAxis; readonly w: WindowAxis } {
  const [padH, padW] =
    typeof padding === 'string'
      ? [padding, padding]
      : ([[padding.top, padding.bottom], [padding.left, padding.right]] as const);
  return {
    h: windowAxis(padH, inH, filterH, stride[0], dilation[0]),
    w: windowAxis(padW, inW, filterW, stride[1], dilation[1]),
  };
}
