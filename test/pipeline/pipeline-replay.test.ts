import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNpy, readNpyFloat32 } from '../../src/io/npy.js';
import type { Decoder, Denoiser, LatentSize, PipelineComponents, TextEncoder } from '../../src/pipeline/components.js';
import { resolveOptions } from '../../src/pipeline/generation-options.js';
import { runPipeline } from '../../src/pipeline/generation.js';
import type { NoiseSource } from '../../src/pipeline/samplers/index.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';

/*
 * The reference pipeline's own 4-step runs on tiny-a (manifest
 * "cases.pipeline"), with every network replaced by a component that checks
 * it is handed exactly the recorded input and answers with the recorded
 * output. The pipeline must then reach the recorded final latents bit for
 * bit and turn the recorded decoder output into the recorded 8-bit image.
 */
const dir = new URL('../fixtures/tiny-a/', import.meta.url);
const tokenizerDir = new URL('../../assets/clip-tokenizer/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
  cases: { pipeline: Record<string, { prompt: string; uncond_prompt: string; cfg_scale: number; n_steps: number; height: number; width: number }> };
};
const HIDDEN = 32; // tiny-a's text hidden size = UNet context_dim
const TEMB_WIDTH = 32; // tiny-a's model_channels

function npy(name: string): Float32Array {
  return readNpyFloat32(new URL(`${name}.npy`, dir).pathname).data;
}

function int32(name: string): Int32Array {
  return readNpy(new URL(`${name}.npy`, dir).pathname).data as Int32Array;
}

/** The recorded draws, in the order the pipeline asks for them. */
function replayNoise(files: string[]): NoiseSource & { used: number } {
  const source = {
    used: 0,
    normal(count: number): Float64Array {
      const name = files[source.used++];
      if (name === undefined) throw new Error('pipeline drew more noise than the recording holds');
      const data = npy(name);
      expect(data.length).toBe(count);
      return Float64Array.from(data);
    },
  };
  return source;
}

function replayComponents(name: string, steps: number) {
  const context = npy(`pipe_${name}_context`);
  const condTokens = int32(`pipe_${name}_cond_tokens`);
  const uncondTokens = int32(`pipe_${name}_uncond_tokens`);
  const calls = { text: 0, unet: 0, decode: 0 };
  const textEncoder: TextEncoder = {
    hiddenSize: HIDDEN,
    run(tokens) {
      calls.text++;
      const half = context.length / 2;
      if (tokens.every((t, i) => t === condTokens[i])) return context.slice(0, half);
      expect(tokens).toEqual(uncondTokens);
      return context.slice(half);
    },
  };
  const denoiser: Denoiser = {
    latentChannels: 4,
    contextWidth: HIDDEN,
    timeEmbeddingWidth: TEMB_WIDTH,
    sizeRule: { kind: 'multiple', multiple: 8 },
    run(latents, ctx, temb, size: LatentSize) {
      const i = calls.unet++;
      expect(i).toBeLessThan(steps);
      expect(size).toEqual({ height: 8, width: 8 });
      expect(latents).toEqual(npy(`pipe_${name}_step${i}_unet_in`));
      expect(ctx).toEqual(context);
      const ref = npy(`pipe_${name}_step${i}_temb`);
      // Ours is correctly rounded, torch's float32 cos/sin within 1 ulp: ≤ 1 ulp of |x| < 1.
      temb.forEach((v, k) => expect(Math.abs(v - ref[k]!)).toBeLessThanOrEqual(2 ** -24));
      return npy(`pipe_${name}_step${i}_unet_out`);
    },
  };
  const decoder: Decoder = {
    latentChannels: 4,
    sizeRule: { kind: 'multiple', multiple: 1 },
    run(latents) {
      calls.decode++;
      expect(latents).toEqual(npy(`pipe_${name}_final_latents`));
      return npy(`pipe_${name}_image_float`);
    },
  };
  const components: PipelineComponents = { textEncoder, denoiser, decoder };
  return { components, calls };
}

const tokenizer = ClipTokenizer.load(tokenizerDir);

for (const [name, run] of Object.entries(manifest.cases.pipeline)) {
  describe(`pipeline on recorded tiny-a components: ${name}`, () => {
    it('feeds every recorded UNet input, reaches the final latents bit for bit, and decodes to the recorded image (±1)', async () => {
      const { components, calls } = replayComponents(name, run.n_steps);
      const anc = name === 'k_euler_ancestral' ? [0, 1, 2, 3].map((i) => `pipe_anc_noise_${i}`) : [];
      const noise = replayNoise(['pipe_init_noise', ...anc]);
      const options = resolveOptions({
        prompt: run.prompt,
        negativePrompt: run.uncond_prompt,
        steps: run.n_steps,
        sampler: name,
        cfg: run.cfg_scale,
        width: run.width,
        height: run.height,
        tokenizerMode: 'seed',
      });
      const progress: number[] = [];
      const out = await runPipeline(components, tokenizer, options, noise, { onProgress: (p) => progress.push(p.step * 10 + p.totalSteps) });

      expect(calls).toEqual({ text: 2, unet: run.n_steps, decode: 1 });
      expect(noise.used).toBe(1 + anc.length);
      expect(progress).toEqual([4, 14, 24, 34, 44]);
      expect(out.latents).toEqual(npy(`pipe_${name}_final_latents`));
      expect(out.latentShape).toEqual([1, 4, 8, 8]);
      expect(out.stepsRun).toBe(run.n_steps);

      const ref = readNpy(new URL(`pipe_${name}_image_uint8.npy`, dir).pathname).data as Uint8Array;
      expect(out.image.width).toBe(64);
      expect(out.image.height).toBe(64);
      expect(out.image.data.length).toBe(ref.length);
      let differing = 0;
      out.image.data.forEach((v, i) => {
        expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(1);
        if (v !== ref[i]) differing++;
      });
      // The golden is float64 truncated; a few values sit on an integer boundary.
      expect(differing).toBeLessThanOrEqual(4);
      expect(Object.values(out.timings).every((t) => t >= 0)).toBe(true);
    });

    it('hf tokenizer mode gives the same ids for this prompt pair', () => {
      expect(tokenizer.encode(run.prompt, 'hf').ids).toEqual(int32(`pipe_${name}_cond_tokens`));
      expect(tokenizer.encode(run.uncond_prompt, 'hf').ids).toEqual(int32(`pipe_${name}_uncond_tokens`));
    });
  });
}
