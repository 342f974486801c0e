// Files converted from tiny-a, run in Google's LiteRT.js, against the
// outputs of the original CompVis/OpenAI code (test/fixtures/tiny-a).
// LiteRT.js only runs static shapes, so these files are pinned with
// --height/--width (the dynamic files are checked in our interpreter).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteRt, type LiteRt, type LiteRtModel } from '../../bench/peers/litert.js';
import type { ComponentName } from '../../src/models/checkpoint/component-weights.js';
import { buildComponent, checkComponents, type ConvertOptions } from '../../src/models/convert.js';
import type { Target } from '../../src/models/graph/nn.js';
import type { Precision } from '../../src/models/graph/weights.js';
import { runTs } from '../support/run-cli.js';
import { relativeError } from '../support/f64-reference-ops.js';
import {
  DECODER_CASES,
  golden,
  goldenInt32,
  openTinyA,
  relL2Error,
  rows,
  tinyAConfig,
  TINY_A_CKPT,
  TINY_A_CONFIG_FILE,
  UNET_CASES,
} from './convert-tiny-a.js';

const HIDDEN = 32;
const TOKENS = 77;

let rt: LiteRt;
let dir: string;
const checkpoint = openTinyA();
const config = tinyAConfig();
const weights = checkComponents(checkpoint, ['clip', 'diffusion', 'decoder', 'encoder'], config);

/** A component built in memory, pinned to latents h x w. */
async function load(component: ComponentName, precision: Precision, target: Target, h = 8, w = 8): Promise<LiteRtModel> {
  const options: ConvertOptions = { config, precision, target, height: 8 * h, width: 8 * w };
  return rt.loadModel(buildComponent(component, weights.get(component)!, options).model.toBuffer());
}

type Outputs = { clip: Float32Array[]; unet: Float32Array[]; decoder: Float32Array; encoder: Float32Array };

/** Every square golden case through the four files. */
async function runAll(models: Record<ComponentName, LiteRtModel>): Promise<Outputs> {
  const out = async (m: LiteRtModel, inputs: Parameters<LiteRtModel['run']>[0]) => (await m.run(inputs)).outputs[0]!.data as Float32Array;
  const tokens = goldenInt32('clip_tokens');
  const clip = [await out(models.clip, [rows(tokens, TOKENS, 0)]), await out(models.clip, [rows(tokens, TOKENS, 1)])];
  const context = golden('unet_in_context');
  const unet: Float32Array[] = [];
  for (const c of UNET_CASES.filter((c) => c.h === 8 && c.w === 8)) {
    const temb = golden(c.temb);
    if (temb.length === HIDDEN) {
      unet.push(await out(models.diffusion, [golden(c.latent), context, temb]));
    } else {
      // One timestep per latent: the batch items are independent, so run each
      // timestep over the batch and keep the item it belongs to.
      const half = golden(c.out).length / 2;
      const item0 = await out(models.diffusion, [golden(c.latent), context, rows(temb, HIDDEN, 0) as Float32Array]);
      const item1 = await out(models.diffusion, [golden(c.latent), context, rows(temb, HIDDEN, 1) as Float32Array]);
      const both = new Float32Array(2 * half);
      both.set(item0.subarray(0, half));
      both.set(item1.subarray(half), half);
      unet.push(both);
    }
  }
  const decoder = await out(models.decoder, [golden('vae_dec_in_latent')]);
  const encoder = await out(models.encoder, [golden('vae_enc_in_image'), golden('vae_enc_in_noise')]);
  return { clip, unet, decoder, encoder };
}

const squareUnetCases = UNET_CASES.filter((c) => c.h === 8 && c.w === 8);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-convert-litert-'));
  rt = await loadLiteRt({ threads: 1 });
});

afterAll(async () => {
  await rt?.close();
  checkpoint.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('tiny-a converted by npm run convert (fp32, cpu), in LiteRT.js', () => {
  let results: Outputs;

  beforeAll(async () => {
    const cli = await runTs('src/cli/convert.ts', ['--ckpt', TINY_A_CKPT, '--model-config', TINY_A_CONFIG_FILE, '--out', dir, '--height', '64', '--width', '64']);
    expect(cli.stderr).not.toMatch(/error/);
    expect(cli.status).toBe(0);
    // A finished progress bar per component: tensors and bytes written.
    for (const c of ['clip', 'diffusion', 'decoder', 'encoder']) {
      expect(cli.stderr).toMatch(new RegExp(`${c}\\.tflite \\[#{24}\\] (\\d+)/\\1 .* ([\\d.]+ [kM]B) / \\2`));
      expect(cli.stdout).toContain(`wrote ${path.join(dir, `${c}.tflite`)}`);
    }
    const files = Object.fromEntries(
      await Promise.all((['clip', 'diffusion', 'decoder', 'encoder'] as const).map(async (c) => [c, await rt.loadModel(path.join(dir, `${c}.tflite`))])),
    );
    results = await runAll(files as Record<ComponentName, LiteRtModel>);
  });

  it('fp32 clip.tflite and decoder.tflite give the golden outputs (CLIP within 1e-4, decoder within 1e-3 of max|ref|)', () => {
    const ref = golden('clip_out');
    expect(relativeError(results.clip[0]!, rows(ref, TOKENS * HIDDEN, 0))).toBeLessThan(1e-4);
    expect(relativeError(results.clip[1]!, rows(ref, TOKENS * HIDDEN, 1))).toBeLessThan(1e-4);
    expect(relativeError(results.decoder, golden('vae_dec_out'))).toBeLessThan(1e-3);
  });

  it('UNet (t = 999 for both latents, and one timestep per latent) and encoder within 1e-4 of max|ref|', () => {
    squareUnetCases.forEach((c, i) => expect(relativeError(results.unet[i]!, golden(c.out)), c.name).toBeLessThan(1e-4));
    expect(relativeError(results.encoder, golden('vae_enc_latent'))).toBeLessThan(1e-4);
  });
});

describe('non-square latents (8 x 16), in LiteRT.js', () => {
  it('UNet within 1e-4 and decoder within 1e-3 of max|ref|', async () => {
    const unetCase = UNET_CASES.find((c) => c.w === 16)!;
    const unet = await load('diffusion', 'fp32', 'cpu', 8, 16);
    const { outputs } = await unet.run([golden(unetCase.latent), golden('unet_in_context'), golden(unetCase.temb)]);
    expect(outputs[0]!.shape).toEqual([2, 4, 8, 16]);
    expect(relativeError(outputs[0]!.data, golden(unetCase.out))).toBeLessThan(1e-4);
    const decCase = DECODER_CASES.find((c) => c.w === 16)!;
    const decoder = await load('decoder', 'fp32', 'cpu', 8, 16);
    const dec = await decoder.run([golden(decCase.z)]);
    expect(dec.outputs[0]!.shape).toEqual([1, 3, 64, 128]);
    expect(relativeError(dec.outputs[0]!.data, golden(decCase.out))).toBeLessThan(1e-3);
  });
});

/** All four components of one precision/target, built in memory. */
async function convertedOutputs(precision: Precision, target: Target): Promise<Outputs> {
  const models = Object.fromEntries(
    await Promise.all((['clip', 'diffusion', 'decoder', 'encoder'] as const).map(async (c) => [c, await load(c, precision, target)])),
  );
  return runAll(models as Record<ComponentName, LiteRtModel>);
}

/** Error of each square case by name; the decoder's is keyed 'decoder' (its fp32 tolerance is 1e-3). */
function errors(o: Outputs, measure: (got: ArrayLike<number>, ref: ArrayLike<number>) => number): Record<string, number> {
  const clipRef = golden('clip_out');
  return {
    clip_row0: measure(o.clip[0]!, rows(clipRef, TOKENS * HIDDEN, 0)),
    clip_row1: measure(o.clip[1]!, rows(clipRef, TOKENS * HIDDEN, 1)),
    ...Object.fromEntries(squareUnetCases.map((c, i) => [c.name, measure(o.unet[i]!, golden(c.out))])),
    decoder: measure(o.decoder, golden('vae_dec_out')),
    encoder: measure(o.encoder, golden('vae_enc_latent')),
  };
}

function expectAll(e: Record<string, number>, check: (name: string, x: number) => void): void {
  for (const [name, x] of Object.entries(e)) check(name, x);
}

describe('precisions and targets, in LiteRT.js', () => {
  it('fp16 weights: every component within 1e-2 of max|ref|', async () => {
    expectAll(errors(await convertedOutputs('fp16', 'cpu'), relativeError), (name, x) => expect(x, name).toBeLessThan(1e-2));
  });

  it('int8 weights: every component within 5e-2 relative L2 error, and further from the goldens than fp32', async () => {
    expectAll(errors(await convertedOutputs('int8', 'cpu'), relL2Error), (name, x) => {
      expect(x, name).toBeLessThan(5e-2);
      expect(x, `${name}: quantization error expected`).toBeGreaterThan(1e-4);
    });
  });

  it('gpu target (group norm and attention composites): fp32 tolerances', async () => {
    expectAll(errors(await convertedOutputs('fp32', 'gpu'), relativeError), (name, x) => expect(x, name).toBeLessThan(name === 'decoder' ? 1e-3 : 1e-4));
  });
});
