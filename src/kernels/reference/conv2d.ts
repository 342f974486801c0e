/**
 * CONV_2D and DEPTHWISE_CONV_2D with TFLite semantics: input NHWC, filter
 * OHWI ([out, kh, kw, in]) for CONV_2D and [1, kh, kw, in*multiplier] for
 * DEPTHWISE_CONV_2D (output channel c*multiplier + m reads input channel c),
 * optional bias [out], stride and dilation [h, w], SAME/VALID/explicit
 * padding, then a fused activation.
 */
import { UsageError } from '../../errors.js';
import { applyFusedActivation, type FusedActivation } from './activation.js';
import { window2d, type Padding } from './padding.js';
import { dimsOf, type Tensor } from './tensor.js';

export interface Conv2dOptions {
  readonly padding: Padding;
  /** [h, w]; default [1, 1]. */
  readonly stride?: readonly [number, number];
  /** [h, w]; default [1, 1]. */
  readonly dilation?: readonly [number, number];
  readonly activation?: FusedActivation;
}

export interface DepthwiseConv2dOptions extends Conv2dOptions {
  /** Output channels per input channel; default (filter channels) / (input channels). */
  readonly depthMultiplier?: number;
}

function checkBias(bias: Tensor | null, channels: number, what: string): void {
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== channels)) {
    throw new UsageError(`${what} bias must have shape [${channels}], got [${bias.shape.join(', ')}]`);
  }
}

/**
 * Grouped convolution core: output channel oc reads the input channels of its
 * group, g = floor(oc / outPerGroup), through filter weights
 * filter[filterOffset(oc, ky, kx) + i], i < inPerGroup.
 */
function convolve(
  input: Tensor,
  bias: Tensor | null,
  outChannels: number,
  filterH: number,
  filterW: number,
  inPerGroup: number,
  outPerGroup: number,
  weight: (oc: number, ky: number, kx: number, i: number) => number,
  options: Conv2dOptions,
): Tensor {
  const [batch, inH, inW, inC] = input.shape as [number, number, number, number];
  const stride = options.stride ?? [1, 1];
  const dilation = options.dilation ?? [1, 1];
  const activation = options.activation ?? 'NONE';
  const { h, w } = window2d(options.padding, inH, inW, filterH, filterW, stride, dilation);
  const x = input.data;
  const out = new Float32Array(batch * h.outSize * w.outSize * outChannels);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < h.outSize; oy++) {
      for (let ox = 0; ox < w.outSize; ox++) {
        for (let oc = 0; oc < outChannels; oc++) {
          const firstIn = Math.floor(oc / outPerGroup) * inPerGroup;
          let acc = bias === null ? 0 : bias.data[oc]!;
          for (let ky = 0; ky < filterH; ky++) {
            const iy = oy * stride[0] - h.before + ky * dilation[0];
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < filterW; kx++) {
              const ix = ox * stride[1] - w.before + kx * dilation[1];
              if (ix < 0 || ix >= inW) continue;
              const base = ((b * inH + iy) * inW + ix) * inC + firstIn;
              for (let i = 0; i < inPerGroup; i++) acc += x[base + i]! * weight(oc, ky, kx, i);
            }
          }
          out[o++] = applyFusedActivation(acc, activation);
        }
      }
    }
  }
  return { data: out, shape: [batch, h.outSize, w.outSize, outChannels] };
}

/**
 * CONV_2D. When the filter has fewer input channels than the input, the
 * convolution is grouped (groups = input channels / filter input channels),
 * as TFLite allows.
 */
export function conv2d(input: Tensor, filter: Tensor, bias: Tensor | null, options: Conv2dOptions): Tensor {
  const [, , , inC] = dimsOf(input, 4, 'conv2d input');
  const [outC, kH, kW, filterIn] = dimsOf(filter, 4, 'conv2d filter') as [number, number, number, number];
  if (filterIn === 0 || inC % filterIn !== 0) {
    throw new UsageError(`conv2d filter has ${filterIn} input channels, which does not divide the input's ${inC}`);
  }
  const groups = inC / filterIn;
  if (outC % groups !== 0) {
    throw new UsageError(`conv2d filter has ${outC} output channels, not a multiple of ${groups} groups`);
  }
  checkBias(bias, outC, 'conv2d');
  const f = filter.data;
  return convolve(input, bias, outC, kH, kW, filterIn, outC / groups,
    (oc, ky, kx, i) => f[((oc * kH + ky) * kW + kx) * filterIn + i]!, options);
}

/** DEPTHWISE_CONV_2D. */
export function depthwiseConv2d(
  input: Tensor,
  filter: Tensor,
  bias: Tensor | null,
  options: DepthwiseConv2dOptions,
): Tensor {
  const [, , , inC] = dimsOf(input, 4, 'depthwise conv2d input');
  const [one, kH, kW, outC] = dimsOf(filter, 4, 'depthwise conv2d filter') as [number, number, number, number];
  if (one !== 1) throw new UsageError(`depthwise conv2d filter must be [1, kh, kw, out], got [${filter.shape.join(', ')}]`);
  const multiplier = options.depthMultiplier ?? outC / inC;
  if (!Number.isInteger(multiplier) || multiplier < 1 || inC * multiplier !== outC) {
    throw new UsageError(`depthwise conv2d: ${inC} input channels x multiplier ${multiplier} != ${outC} filter channels`);
  }
  checkBias(bias, outC, 'depthwise conv2d');
  const f = filter.data;
  return convolve(input, bias, outC, kH, kW, 1, multiplier, (oc, ky, kx) => f[(ky * kW + kx) * outC + oc]!, options);
}
