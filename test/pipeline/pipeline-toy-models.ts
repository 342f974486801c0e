// Tiny hand-built .tflite files with the pipeline's signatures (DESIGN.md),
// fixed at 64x64 pixels (latents 4x8x8), for testing the generate CLI without
// the converter. The graphs are simple but depend on every input, so the
// prompt, the seed and the noise all change the image.
import { join } from 'node:path';
import { TfliteModelBuilder, type SubgraphBuilder } from '../../src/tflite/writer.js';

export const TOY = { hidden: 8, tembWidth: 16, channels: 4, latent: 8, pixels: 64 } as const;

const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
let n = 0;
const i32 = (g: SubgraphBuilder, ...v: number[]) => g.addConstant(`i32_${n++}`, 'INT32', [v.length], bytes(Int32Array.from(v)));
const f32 = (g: SubgraphBuilder, shape: number[], f: (i: number) => number) =>
  g.addConstant(`f32_${n++}`, 'FLOAT32', shape, bytes(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i))));
const t = (g: SubgraphBuilder, shape: number[], type: 'FLOAT32' | 'INT32' = 'FLOAT32') => g.addTensor(`t_${n++}`, type, shape);

function op(g: SubgraphBuilder, name: Parameters<SubgraphBuilder['addOperator']>[0], inputs: number[], shape: number[], options?: object): number {
  const out = t(g, shape);
  g.addOperator(name, inputs, [out], options as never);
  return out;
}

/** clip.tflite: float(token) · w[k] · 1e-5 → [1, 77, hidden]. */
function clip(): TfliteModelBuilder {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const tokens = g.addInput('args_0', 'INT32', [1, 77]);
  const f = op(g, 'CAST', [tokens], [1, 77]);
  const r = op(g, 'RESHAPE', [f, i32(g, 1, 77, 1)], [1, 77, 1]);
  const y = op(g, 'MUL', [r, f32(g, [1, 1, TOY.hidden], (k) => (k + 1) * 1e-5)], [1, 77, TOY.hidden]);
  g.markOutput(y);
  m.addSignature('encode', { args_0: tokens }, { output_0: y });
  return m;
}

/** diffusion.tflite: 0.1·x + mean(context per batch) + mean(temb). */
function diffusion(): TfliteModelBuilder {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const { channels: c, latent: s, hidden: h, tembWidth: w } = TOY;
  const x = g.addInput('args_0', 'FLOAT32', [2, c, s, s]);
  const ctx = g.addInput('args_1', 'FLOAT32', [2, 77, h]);
  const temb = g.addInput('args_2', 'FLOAT32', [1, w]);
  const xs = op(g, 'MUL', [x, f32(g, [], () => 0.1)], [2, c, s, s]);
  const cm = op(g, 'MEAN', [ctx, i32(g, 1, 2)], [2, 1, 1], { keepDims: true });
  const cm4 = op(g, 'RESHAPE', [cm, i32(g, 2, 1, 1, 1)], [2, 1, 1, 1]);
  const tm = op(g, 'MEAN', [temb, i32(g, 1)], [1, 1], { keepDims: true });
  const tm4 = op(g, 'RESHAPE', [tm, i32(g, 1, 1, 1, 1)], [1, 1, 1, 1]);
  const a = op(g, 'ADD', [xs, cm4], [2, c, s, s]);
  const y = op(g, 'ADD', [a, tm4], [2, c, s, s]);
  g.markOutput(y);
  m.addSignature('diffusion', { args_0: x, args_1: ctx, args_2: temb }, { output_0: y });
  return m;
}

/** decoder.tflite: 1x1 conv 4 → 3 channels, nearest ×8 upsampling, tanh. */
function decoder(): TfliteModelBuilder {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const { channels: c, latent: s, pixels: p } = TOY;
  const z = g.addInput('args_0', 'FLOAT32', [1, c, s, s]);
  const nhwc = op(g, 'TRANSPOSE', [z, i32(g, 0, 2, 3, 1)], [1, s, s, c]);
  const conv = op(g, 'CONV_2D', [nhwc, f32(g, [3, 1, 1, c], (i) => ((i % 5) - 2) * 0.3), f32(g, [3], (i) => i * 0.1)], [1, s, s, 3], {
    padding: 'VALID',
    strideW: 1,
    strideH: 1,
  });
  const up = op(g, 'RESIZE_NEAREST_NEIGHBOR', [conv, i32(g, p, p)], [1, p, p, 3]);
  const th = op(g, 'TANH', [up], [1, p, p, 3]);
  const y = op(g, 'TRANSPOSE', [th, i32(g, 0, 3, 1, 2)], [1, 3, p, p]);
  g.markOutput(y);
  m.addSignature('decode', { args_0: z }, { output_0: y });
  return m;
}

/** encoder.tflite: 8x8 average pool, 1x1 conv 3 → 4 channels, plus 0.1 · noise. */
function encoder(): TfliteModelBuilder {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const { channels: c, latent: s, pixels: p } = TOY;
  const img = g.addInput('args_0', 'FLOAT32', [1, 3, p, p]);
  const noise = g.addInput('args_1', 'FLOAT32', [1, c, s, s]);
  const nhwc = op(g, 'TRANSPOSE', [img, i32(g, 0, 2, 3, 1)], [1, p, p, 3]);
  const pool = op(g, 'AVERAGE_POOL_2D', [nhwc], [1, s, s, 3], { padding: 'VALID', strideW: 8, strideH: 8, filterWidth: 8, filterHeight: 8 });
  const conv = op(g, 'CONV_2D', [pool, f32(g, [c, 1, 1, 3], (i) => ((i % 3) - 1) * 0.5), f32(g, [c], () => 0)], [1, s, s, c], {
    padding: 'VALID',
    strideW: 1,
    strideH: 1,
  });
  const nchw = op(g, 'TRANSPOSE', [conv, i32(g, 0, 3, 1, 2)], [1, c, s, s]);
  const scaled = op(g, 'MUL', [noise, f32(g, [], () => 0.1)], [1, c, s, s]);
  const y = op(g, 'ADD', [nchw, scaled], [1, c, s, s]);
  g.markOutput(y);
  m.addSignature('encode', { args_0: img, args_1: noise }, { output_0: y });
  return m;
}

/** Writes clip, diffusion, decoder (and encoder) .tflite into `dir`. */
export function writeToyModels(dir: string, withEncoder = true): void {
  clip().writeFile(join(dir, 'clip.tflite'));
  diffusion().writeFile(join(dir, 'diffusion.tflite'));
  decoder().writeFile(join(dir, 'decoder.tflite'));
  if (withEncoder) encoder().writeFile(join(dir, 'encoder.tflite'));
}
