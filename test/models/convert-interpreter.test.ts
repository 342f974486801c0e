// Files converted from tiny-a as `npm run convert` writes them by default
// (spatial dimensions dynamic), run in our interpreter at the golden cases'
// sizes, against the outputs of the original CompVis/OpenAI code.
import { afterAll, describe, expect, it } from 'vitest';
import type { ComponentName } from '../../src/models/checkpoint/component-weights.js';
import { buildComponent, checkComponents } from '../../src/models/convert.js';
import type { Precision } from '../../src/models/graph/weights.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import type { SignatureRunner } from '../../src/tflite/interpreter/signature-runner.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { DECODER_CASES, golden, goldenInt32, openTinyA, relL2Error, rows, tinyAConfig, UNET_CASES } from './convert-tiny-a.js';

const config = tinyAConfig();
const checkpoint = openTinyA();
const weights = checkComponents(checkpoint, ['clip', 'diffusion', 'decoder', 'encoder'], config);
const opened: Interpreter[] = [];
afterAll(() => {
  for (const i of opened) i.close();
  checkpoint.close();
});

function runner(component: ComponentName, precision: Precision): SignatureRunner {
  const bytes = buildComponent(component, weights.get(component)!, { config, precision, target: 'cpu' }).model.toBuffer();
  const interp = Interpreter.load(bytes);
  opened.push(interp);
  return interp.getSignatureRunner();
}

/**
 * The golden cases (all of them, or to save time the first CLIP, UNet and
 * encoder case: the decoder, slowest in the reference kernels, is covered at
 * fp16 and int8 by the LiteRT.js tests); each result with the golden it
 * should match and its fp32 tolerance.
 */
function runCases(precision: Precision, all: boolean): { name: string; got: ArrayLike<number>; ref: Float32Array; fp32: number }[] {
  const results: { name: string; got: ArrayLike<number>; ref: Float32Array; fp32: number }[] = [];
  const clip = runner('clip', precision);
  const tokens = goldenInt32('clip_tokens');
  for (const row of all ? [0, 1] : [0]) {
    const got = clip.invoke({ args_0: rows(tokens, 77, row) }).output_0!.data;
    results.push({ name: `clip row ${row}`, got, ref: rows(golden('clip_out'), 77 * 32, row) as Float32Array, fp32: 1e-4 });
  }
  const unet = runner('diffusion', precision);
  for (const c of all ? UNET_CASES : UNET_CASES.slice(0, 1)) {
    const temb = golden(c.temb);
    unet.resizeInput('args_0', [2, 4, c.h, c.w]);
    unet.resizeInput('args_2', [temb.length / 32, 32]); // [2, 32]: one timestep per latent
    const got = unet.invoke({ args_0: golden(c.latent), args_1: golden('unet_in_context'), args_2: temb }).output_0!;
    expect(got.shape).toEqual([2, 4, c.h, c.w]);
    results.push({ name: c.name, got: got.data, ref: golden(c.out), fp32: 1e-4 });
  }
  if (all) {
    const decoder = runner('decoder', precision);
    for (const c of DECODER_CASES) {
      decoder.resizeInput('args_0', [1, 4, c.h, c.w]);
      const got = decoder.invoke({ args_0: golden(c.z) }).output_0!;
      expect(got.shape).toEqual([1, 3, 8 * c.h, 8 * c.w]);
      results.push({ name: c.name, got: got.data, ref: golden(c.out), fp32: 1e-3 });
    }
  }
  const encoder = runner('encoder', precision);
  encoder.resizeInput('args_0', [1, 3, 64, 64]);
  encoder.resizeInput('args_1', [1, 4, 8, 8]);
  const latents = encoder.invoke({ args_0: golden('vae_enc_in_image'), args_1: golden('vae_enc_in_noise') }).output_0!.data;
  results.push({ name: 'vae_encode', got: latents, ref: golden('vae_enc_latent'), fp32: 1e-4 });
  return results;
}

describe('tiny-a, dynamic sizes, in our interpreter', () => {
  it('fp32: CLIP, UNet (3 cases) and encoder within 1e-4, decoder (2 cases) within 1e-3 of max|ref|', () => {
    for (const r of runCases('fp32', true)) expect(relativeError(r.got, r.ref), r.name).toBeLessThan(r.fp32);
  });

  it('fp16 (CLIP, UNet, encoder): within 1e-2 of max|ref|', () => {
    for (const r of runCases('fp16', false)) expect(relativeError(r.got, r.ref), r.name).toBeLessThan(1e-2);
  });

  it('int8 (CLIP, UNet, encoder): within 5e-2 relative L2 error', () => {
    for (const r of runCases('int8', false)) {
      expect(relL2Error(r.got, r.ref), r.name).toBeLessThan(5e-2);
      expect(relL2Error(r.got, r.ref), `${r.name}: quantization error expected`).toBeGreaterThan(1e-4);
    }
  });
});

describe('tiny-a, --target gpu, in our interpreter', () => {
  it('composites (pinned to 64 x 64): CLIP, UNet and encoder within 1e-4 of max|ref|', () => {
    const run = (component: ComponentName, inputs: Record<string, Float32Array | Int32Array>) => {
      const options = { config, precision: 'fp32' as const, target: 'gpu' as const, height: 64, width: 64 };
      const interp = Interpreter.load(buildComponent(component, weights.get(component)!, options).model.toBuffer());
      opened.push(interp);
      return interp.getSignatureRunner().invoke(inputs).output_0!.data;
    };
    const clip = run('clip', { args_0: rows(goldenInt32('clip_tokens'), 77, 0) });
    expect(relativeError(clip, rows(golden('clip_out'), 77 * 32, 0))).toBeLessThan(1e-4);
    const unet = run('diffusion', { args_0: golden('unet_in_latent'), args_1: golden('unet_in_context'), args_2: golden('unet_in_temb') });
    expect(relativeError(unet, golden('unet_out'))).toBeLessThan(1e-4);
    const encoder = run('encoder', { args_0: golden('vae_enc_in_image'), args_1: golden('vae_enc_in_noise') });
    expect(relativeError(encoder, golden('vae_enc_latent'))).toBeLessThan(1e-4);
  });
});
