/**
 * AVERAGE_POOL_2D and MAX_POOL_2D with TFLite semantics on NHWC input:
 * padded cells are skipped (the average divides by the number of window
 * cells inside the input, as TFLite does), then a fused activation.
 */
import { applyFusedActivation, type FusedActivation } from './activation.js';
import { window2d, type Padding } from './padding.js';
import { dimsOf, type Tensor } from './tensor.js';

export interface Pool2dOptions {
  /** [h, w] */
  readonly filter: readonly [number, number];
  /** [h, w] */
  readonly stride: readonly [number, number];
  readonly padding: Padding;
  readonly activation?: FusedActivation;
}

function pool2d(input: Tensor, options: Pool2dOptions, what: string, reduce: (values: number[]) => number): Tensor {
  const [batch, inH, inW, channels] = dimsOf(input, 4, `${what} input`) as [number, number, number, number];
  const [fh, fw] = options.filter;
  const { h, w } = window2d(options.padding, inH, inW, fh, fw, options.stride, [1, 1]);
  const activation = options.activation ?? 'NONE';
  const out = new Float32Array(batch * h.outSize * w.outSize * channels);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < h.outSize; oy++) {
      for (let ox = 0; ox < w.outSize; ox++) {
        for (let c = 0; c < channels; c++) {
          const values: number[] = [];
          for (let ky = 0; ky < fh; ky++) {
            const iy = oy * options.stride[0] - h.before + ky;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < fw; kx++) {
              const ix = ox * options.stride[1] - w.before + kx;
              if (ix < 0 || ix >= inW) continue;
              values.push(input.data[((b * inH + iy) * inW + ix) * channels + c]!);
            }
          }
          out[o++] = applyFusedActivation(reduce(values), activation);
        }
      }
    }
  }
  return { data: out, shape: [batch, h.outSize, w.outSize, channels] };
}

export function averagePool2d(input: Tensor, options: Pool2dOptions): Tensor {
  return pool2d(input, options, 'average pool', (values) => values.reduce((s, v) => s + v, 0) / values.length);
}

export function maxPool2d(input: Tensor, options: Pool2dOptions): Tensor {
  return pool2d(input, options, 'max pool', (values) => Math.max(...values));
}
