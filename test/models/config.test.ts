import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, UsageError } from '../../src/errors.js';
import { loadModelConfig, parseModelConfig, SD15_CONFIG } from '../../src/models/config.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

/** The FormatError message parseModelConfig gives for `json`. */
function errorOf(json: unknown): string {
  try {
    parseModelConfig(json, 'cfg.json');
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return (err as Error).message;
  }
  throw new Error('expected a FormatError');
}

describe('model config', () => {
  it("'sd15' is LDM v1-inference.yaml plus CLIP ViT-L/14's text config, as a mutable copy", () => {
    const c = loadModelConfig('sd15');
    expect(c).toEqual(SD15_CONFIG);
    expect(c.unet).toMatchObject({ model_channels: 320, channel_mult: [1, 2, 4, 4], attention_resolutions: [4, 2, 1], num_heads: 8, context_dim: 768 });
    expect(c.vae).toMatchObject({ embed_dim: 4, ddconfig: { ch: 128, ch_mult: [1, 2, 4, 4], z_channels: 4, attn_resolutions: [] } });
    expect(c.text_encoder).toMatchObject({ hidden_size: 768, num_hidden_layers: 12, intermediate_size: 3072, hidden_act: 'quick_gelu' });
    c.unet.channel_mult.push(8);
    expect(SD15_CONFIG.unet.channel_mult).toEqual([1, 2, 4, 4]);
  });

  it('reads tiny-a’s model-config.json', () => {
    const c = loadModelConfig('test/fixtures/tiny-a/model-config.json');
    expect(c.unet.model_channels).toBe(32);
    expect(c.unet.channel_mult).toEqual([1, 1, 2, 2]);
    expect(c.vae.ddconfig.ch).toBe(32);
    expect(c.text_encoder.num_hidden_layers).toBe(2);
  });

  it("fills missing fields with SD v1.5's values", () => {
    const c = loadModelConfig(writeJson('partial.json', { unet: { model_channels: 64 }, vae: { ddconfig: { ch: 64 } } }));
    expect(c.unet.model_channels).toBe(64);
    expect(c.unet.num_heads).toBe(8);
    expect(c.vae.ddconfig.ch).toBe(64);
    expect(c.vae.ddconfig.ch_mult).toEqual([1, 2, 4, 4]);
    expect(c.text_encoder).toEqual(SD15_CONFIG.text_encoder);
    expect(c.scale_factor).toBe(0.18215);
    expect(loadModelConfig(writeJson('empty.json', {}))).toEqual(SD15_CONFIG);
  });

  it('names the path of an unknown field', () => {
    expect(errorOf({ unet: { model_chanels: 32 } })).toMatch(/^cfg\.json: unet\.model_chanels: unknown field/);
    expect(errorOf({ vae: { ddconfig: { dropout: 0 } } })).toMatch(/vae\.ddconfig\.dropout: unknown field/);
    expect(errorOf({ text_encoder: { projection_dim: 768 } })).toMatch(/text_encoder\.projection_dim: unknown field/);
    expect(errorOf({ image_size: 32 })).toMatch(/: image_size: unknown field/);
  });

  it('names the field of a wrong type', () => {
    expect(errorOf({ unet: { model_channels: '320' } })).toMatch(/unet\.model_channels: expected a number, got the string "320"/);
    expect(errorOf({ unet: { channel_mult: 4 } })).toMatch(/unet\.channel_mult: expected an array/);
    expect(errorOf({ unet: { channel_mult: [1, 'x'] } })).toMatch(/unet\.channel_mult\[1\]: expected a number/);
    expect(errorOf({ vae: { ddconfig: { double_z: 1 } } })).toMatch(/vae\.ddconfig\.double_z: expected a boolean/);
    expect(errorOf({ vae: 4 })).toMatch(/vae: expected an object, got number 4/);
    expect(errorOf({ text_encoder: { hidden_act: 7 } })).toMatch(/text_encoder\.hidden_act: expected a string/);
    expect(errorOf([])).toMatch(/the top level: expected an object/);
    expect(errorOf(null)).toMatch(/the top level: expected an object, got null/);
  });

  it('rejects architectures the original code cannot build', () => {
    expect(errorOf({ unet: { num_res_blocks: 0 } })).toMatch(/unet\.num_res_blocks: expected a positive integer, got 0/);
    expect(errorOf({ unet: { model_channels: 2.5 } })).toMatch(/unet\.model_channels: expected a positive integer/);
    expect(errorOf({ unet: { channel_mult: [] } })).toMatch(/unet\.channel_mult: must not be empty/);
    expect(errorOf({ unet: { model_channels: 48 } })).toMatch(/not a multiple of the 32 GroupNorm groups/);
    expect(errorOf({ unet: { num_heads: 3 } })).toMatch(/unet\.num_heads: 3 does not divide the 320 channels/);
    expect(errorOf({ vae: { ddconfig: { double_z: false } } })).toMatch(/vae\.ddconfig\.double_z: must be true/);
    expect(errorOf({ text_encoder: { num_attention_heads: 5 } })).toMatch(/text_encoder\.num_attention_heads: 5 does not divide/);
    expect(errorOf({ text_encoder: { hidden_act: 'relu' } })).toMatch(/text_encoder\.hidden_act: expected "quick_gelu" or "gelu"/);
    expect(errorOf({ unet: { context_dim: 1024 } })).toMatch(/unet\.context_dim: 1024 must equal text_encoder\.hidden_size 768/);
    expect(errorOf({ scale_factor: -1 })).toMatch(/scale_factor: expected a positive number/);
  });

  it('reports unreadable files as usage errors and bad JSON as format errors', () => {
    expect(() => loadModelConfig(join(dir, 'nope.json'))).toThrow(UsageError);
    expect(() => loadModelConfig(join(dir, 'nope.json'))).toThrow(/neither 'sd15' nor a readable JSON file \(ENOENT\)/);
    const bad = writeJson('bad.json', '{"unet": ');
    expect(() => loadModelConfig(bad)).toThrow(FormatError);
    expect(() => loadModelConfig(bad)).toThrow(/bad\.json: invalid JSON/);
  });
});
