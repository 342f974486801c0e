/**
 * Convolution as implicit GEMM on the WebAssembly kernels
 * (assembly/conv.ts): any filter size, stride, dilation and padding, NHWC,
 * the OHWI filter packed once by packGemmWeights as [cout, kh·kw·cin]
 * ('nk'). No im2col buffer: the micro-kernel reads the image in place,
 * gathering only tiles at the padding (6 x cin floats per thread).
 * Results are bit-identical for any thread count.
 */
import { UsageError } from '../../errors.js';
import type { PackedGemm } from './gemm-pack.js';
import { JOB_COUNTER_PTR, type KernelRuntime } from './runtime.js';

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  cin: number;
  outH: number;
  outW: number;
  kh: number;
  kw: number;
  stride: readonly [number, number];
  dilation: readonly [number, number];
  /** Padding before the first row and column. */
  padTop: number;
  padLeft: number;
}

export function convImplicitGemm(
  runtime: KernelRuntime,
  w: PackedGemm,
  g: ConvGeometry,
  { x, out, clamp }: { x: number; out: number; clamp?: { min: number; max: number } },
): void {
  const { batch, inH, inW, cin, outH, outW, kh, kw, stride, dilation, padTop, padLeft } = g;
  const dims = [batch, inH, inW, cin, outH, outW, kh, kw, ...stride, ...dilation];
  if (!dims.every((d) => Number.isInteger(d) && d >= 1) || !(Number.isInteger(padTop) && Number.isInteger(padLeft) && padTop >= 0 && padLeft >= 0)) {
    throw new UsageError(`convImplicitGemm: bad geometry ${JSON.stringify(g)}`);
  }
  if (w.k !== kh * kw * cin) throw new UsageError(`convImplicitGemm: packed K=${w.k} is not ${kh}x${kw}x${cin}`);
  if (x % 4 !== 0 || out % 4 !== 0) throw new UsageError('convImplicitGemm: x and out must be 4-byte aligned');
  const min = clamp?.min ?? -Infinity;
  const max = clamp?.max ?? Infinity;
  if (!(min <= max)) throw new UsageError(`convImplicitGemm: bad clamp [${min}, ${max}]`);
  const mark = runtime.arena.top;
  try {
    const scratch = runtime.arena.alloc(24 * cin * runtime.threads, 64);
    runtime.resetJobCounter();
    runtime.pool.run('convImplicitGemm', [
      x, batch, inH, inW, cin, w.ptr, w.biasPtr, out, outH, outW, w.n,
      kh, kw, stride[0], stride[1], dilation[0], dilation[1], padTop, padLeft, min, max, scratch, JOB_COUNTER_PTR,
    ]);
  } finally {
    runtime.arena.reset(mark);
  }
}
