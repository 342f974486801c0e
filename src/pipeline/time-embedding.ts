import { UsageError } from '../errors.js';

/**
 * The UNet's time embedding, computed by the pipeline (DESIGN.md): for width
 * w (the UNet's model_channels, 320 for SD v1.5), half = w/2,
 * freqs[i] = 10000^(−i/half), x = t·freqs, embedding = [cos x, sin x].
 *
 * In float32 like the reference (ai-edge-torch util.get_time_embedding, a
 * float32 torch computation): t and the exponents −i/half are float32, each
 * power, product, cos and sin is rounded to float32. Ours are correctly
 * rounded; torch's vectorised float32 pow/cos/sin are within 1 ulp, so an
 * element can differ from the reference by 1 float32 ulp.
 */
export function timeEmbedding(timestep: number, width: number): Float32Array {
  if (!Number.isInteger(width) || width < 2 || width % 2 !== 0) {
    throw new UsageError(`time embedding width must be an even number >= 2, got ${width}`);
  }
  const half = width / 2;
  const t = Math.fround(timestep);
  const out = new Float32Array(width);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround(-i / half);
    const freq = Math.fround(Math.pow(10000, exponent));
    const x = Math.fround(t * freq);
    out[i] = Math.cos(x);
    out[half + i] = Math.sin(x);
  }
  return out;
}
