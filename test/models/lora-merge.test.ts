// LoRA merging at conversion against PyTorch (scripts/make-lora-fixture.py):
// three LoRA files (kohya-ss, diffusers/PEFT, older diffusers) merged into
// tiny-a must give the float64 merge of the Python script, layer by layer,
// and the converted text encoder and UNet must compute the Python forward
// passes on the merged weights, at every precision.
import { afterAll, describe, expect, it } from 'vitest';
import { readNpyFloat32 } from '../../src/io/npy.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import type { ComponentName } from '../../src/models/checkpoint/component-weights.js';
import { buildComponent, checkComponents } from '../../src/models/convert.js';
import type { Precision, WeightSource } from '../../src/models/graph/weights.js';
import { LoraMerge } from '../../src/models/lora/lora-merge.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { golden, goldenInt32, openTinyA, relL2Error, tinyAConfig } from './convert-tiny-a.js';

const LORA = 'test/fixtures/lora';
const manifest = (await import('../fixtures/lora/manifest.json', { with: { type: 'json' } })).default as { multipliers: Record<string, number>; merged_layers: number };
const SPECS = Object.entries(manifest.multipliers).map(([file, multiplier]) => ({ path: `${LORA}/${file}`, multiplier }));

const config = tinyAConfig();
const checkpoint = openTinyA();
const loras = LoraMerge.open(SPECS, config);
const merged = checkComponents(checkpoint, ['clip', 'diffusion'], config, loras);
const plain = checkComponents(checkpoint, ['clip', 'diffusion'], config);
const reference = SafetensorsFile.open(`${LORA}/merged-reference.safetensors`);
const opened: Interpreter[] = [];

afterAll(() => {
  for (const i of opened) i.close();
  reference.close();
  loras.close();
  checkpoint.close();
});

const sourceOf = (name: string): { merged: WeightSource; plain: WeightSource } => {
  const component: ComponentName = name.startsWith('cond_stage_model.') ? 'clip' : 'diffusion';
  return { merged: merged.get(component)!, plain: plain.get(component)! };
};

describe('merged weights', () => {
  it('every patched layer equals the PyTorch float64 merge (kohya 0.8 + PEFT -0.5 + old diffusers 1.0) within 1e-6 of max|W|', () => {
    const names = [...reference.entries.keys()];
    expect(names.length).toBe(manifest.merged_layers);
    expect(loras.layerCounts).toEqual([
      { unet: 14, text_encoder: 12 },
      { unet: 3, text_encoder: 2 },
      { unet: 2, text_encoder: 1 },
    ]);
    for (const name of names) {
      const ref = reference.readFloat32(name);
      const { merged: source, plain: base } = sourceOf(name);
      const got = source.read(name);
      expect(relativeError(got, ref), name).toBeLessThan(1e-6);
      // The LoRA moved the layer by far more than the tolerance.
      expect(relativeError(base.read(name), ref), name).toBeGreaterThan(1e-2);
    }
  });

  it('row ranges (GEGLU halves of ff.net.0.proj) get the rows of the merged weight', () => {
    const name = 'model.diffusion_model.output_blocks.10.1.transformer_blocks.0.ff.net.0.proj.weight';
    const ref = reference.readFloat32(name);
    const [out, width] = merged.get('diffusion')!.shape(name) as [number, number];
    for (const start of [0, out / 2]) {
      const got = merged.get('diffusion')!.read(name, { start, count: out / 2 });
      expect(relativeError(got, ref.subarray(start * width, (start + out / 2) * width))).toBeLessThan(1e-6);
    }
  });

  it('layers no LoRA patches are read unchanged', () => {
    for (const name of [
      'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_k.weight',
      'model.diffusion_model.out.2.weight',
      'cond_stage_model.transformer.text_model.encoder.layers.1.self_attn.q_proj.bias',
      'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight',
    ]) {
      const { merged: source, plain: base } = sourceOf(name);
      const [a, b] = [source.read(name), base.read(name)];
      expect(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)), name).toBe(0);
    }
  });
});

function run(component: ComponentName, precision: Precision, source: WeightSource) {
  const bytes = buildComponent(component, source, { config, precision, target: 'cpu' }).model.toBuffer();
  const interp = Interpreter.load(bytes);
  opened.push(interp);
  return interp.getSignatureRunner();
}

describe('converted models carry the LoRA', () => {
  const tokens = goldenInt32('clip_tokens');
  const clipRef = readNpyFloat32(`${LORA}/clip_out_lora.npy`).data;
  const clipRow = (precision: Precision) => run('clip', precision, merged.get('clip')!).invoke({ args_0: tokens.subarray(0, 77) }).output_0!.data;

  it('fp32 CLIP matches the PyTorch forward pass on the merged weights within 1e-4 of max|ref|', () => {
    const got = clipRow('fp32');
    const ref = clipRef.subarray(0, got.length);
    expect(relativeError(got, ref)).toBeLessThan(1e-4);
    // ... which is far from the output without the LoRA.
    expect(relativeError(golden('clip_out').subarray(0, got.length), ref)).toBeGreaterThan(0.1);
  });

  it('fp16 and int8 CLIP carry the merge too (1e-2 of max|ref|, 5e-2 relative L2)', () => {
    const ref = clipRef.subarray(0, 77 * 32);
    expect(relativeError(clipRow('fp16'), ref)).toBeLessThan(1e-2);
    expect(relL2Error(clipRow('int8'), ref)).toBeLessThan(5e-2);
  });

  it('the UNet matches the PyTorch forward pass on the merged weights: fp32 within 1e-4 of max|ref|, fp16 1e-2, int8 5e-2 relative L2', () => {
    const unet = (precision: Precision, source: WeightSource) => {
      const r = run('diffusion', precision, source);
      r.resizeInput('args_0', [2, 4, 8, 8]);
      const temb = golden('unet_in_temb');
      r.resizeInput('args_2', [temb.length / 32, 32]);
      return r.invoke({ args_0: golden('unet_in_latent'), args_1: golden('unet_in_context'), args_2: temb }).output_0!.data;
    };
    const ref = readNpyFloat32(`${LORA}/unet_out_lora.npy`).data;
    expect(relativeError(unet('fp32', merged.get('diffusion')!), ref)).toBeLessThan(1e-4);
    expect(relativeError(unet('fp16', merged.get('diffusion')!), ref)).toBeLessThan(1e-2);
    expect(relL2Error(unet('int8', merged.get('diffusion')!), ref)).toBeLessThan(5e-2);
    // ... far from the output without the LoRA.
    expect(relativeError(golden('unet_out'), ref)).toBeGreaterThan(0.1);
  });
});
