import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModelConfig, parseModelConfig, SD15_CONFIG } from '../../src/models/config.js';
import { dtypeSize, elementCount, ldmCheckpointSpecs } from '../../src/models/ldm-layout/index.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';

const TINY_A = 'test/fixtures/tiny-a';

describe('LDM checkpoint layout', () => {
  it("gives exactly tiny-a.safetensors's names, shapes and dtypes from its model config", () => {
    const specs = ldmCheckpointSpecs(loadModelConfig(`${TINY_A}/model-config.json`));
    const file = SafetensorsFile.open(`${TINY_A}/tiny-a.safetensors`);
    const tensors = file.entries;
    file.close();
    const ours = new Map(specs.map((s) => [s.name, { dtype: s.dtype, shape: s.shape }]));
    expect(ours.size).toBe(specs.length); // no duplicate names
    const missing = [...tensors.keys()].filter((k) => !ours.has(k));
    const extra = [...ours.keys()].filter((k) => !tensors.has(k));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    for (const [name, entry] of tensors) {
      expect({ name, ...ours.get(name) }).toEqual({ name, dtype: entry.dtype, shape: entry.shape });
    }
  });

  it("matches tiny-a.json's tensor and parameter counts per component", () => {
    const info = JSON.parse(readFileSync(`${TINY_A}/tiny-a.json`, 'utf8')) as { tensor_count_by_component: Record<string, number>; param_count_by_component: Record<string, number> };
    const specs = ldmCheckpointSpecs(loadModelConfig(`${TINY_A}/model-config.json`));
    const count = (pred: (s: (typeof specs)[number]) => boolean) => specs.filter(pred);
    const params = (list: typeof specs) => list.reduce((a, s) => a + elementCount(s.shape), 0);
    const unet = count((s) => s.component === 'unet');
    const vae = count((s) => s.component === 'vae');
    const clip = count((s) => s.component === 'text_encoder' && s.kind !== 'position_ids');
    expect([unet.length, vae.length, clip.length]).toEqual([
      info.tensor_count_by_component.unet,
      info.tensor_count_by_component.vae,
      info.tensor_count_by_component.clip,
    ]);
    expect([params(unet), params(vae), params(clip)]).toEqual([
      info.param_count_by_component.unet,
      info.param_count_by_component.vae,
      info.param_count_by_component.clip,
    ]);
  });

  it('gives the known SD v1.5 parameter counts per component', () => {
    const specs = ldmCheckpointSpecs(SD15_CONFIG);
    const params = (pred: (s: (typeof specs)[number]) => boolean) =>
      specs.filter(pred).reduce((a, s) => a + elementCount(s.shape), 0);
    expect(params((s) => s.component === 'unet')).toBe(859_520_964);
    expect(params((s) => s.component === 'vae')).toBe(83_653_863);
    expect(params((s) => s.component === 'text_encoder' && s.kind !== 'position_ids')).toBe(123_060_480);
    expect(specs.length).toBe(1145);
    const bytes = (list: typeof specs) => list.reduce((a, s) => a + elementCount(s.shape) * dtypeSize(s.dtype), 0);
    expect(bytes(specs)).toBe(4_264_989_852);
  });

  it('accounts for every byte of the real 4,265,146,304-byte v1-5-pruned-emaonly.safetensors', () => {
    // The real file: 8-byte length, a JSON header with {"format":"pt"} metadata and
    // the tensors in name order, unpadded, then the data. Any name or shape that
    // differed from the real one would change the header length.
    const specs = ldmCheckpointSpecs(SD15_CONFIG).sort((a, b) => (a.name < b.name ? -1 : 1));
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let offset = 0;
    for (const s of specs) {
      const size = elementCount(s.shape) * dtypeSize(s.dtype);
      header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [offset, offset + size] };
      offset += size;
    }
    expect(8 + JSON.stringify(header).length + offset).toBe(4_265_146_304);
  });

  it('with fp16, stores every float tensor as F16 and keeps integer buffers', () => {
    const fp32 = ldmCheckpointSpecs(SD15_CONFIG, 'fp32');
    const fp16 = ldmCheckpointSpecs(SD15_CONFIG, 'fp16');
    expect(fp16.map((s) => s.name)).toEqual(fp32.map((s) => s.name));
    const dtypes = (list: typeof fp16) => Object.fromEntries(list.map((s) => [s.name, s.dtype]));
    const d16 = dtypes(fp16);
    expect(new Set(Object.values(d16))).toEqual(new Set(['F16', 'I64', 'I32']));
    expect(d16['cond_stage_model.transformer.text_model.embeddings.position_ids']).toBe('I64');
    expect(d16['model_ema.num_updates']).toBe('I32');
    expect(d16['model_ema.decay']).toBe('F16');
    expect(d16['alphas_cumprod']).toBe('F16');
  });
});

describe('LDM checkpoint layout against the original CompVis modules', () => {
  // Unusual configs (3 or 2 levels, shrinking channels, VAE attention, depth-2
  // transformers, 1 or 3 res blocks): names and shapes in state_dict order, from
  // test/models/make-layout-fixtures.py.
  for (const name of ['odd-a', 'odd-b']) {
    it(`gives CompVis's UNet and VAE tables, in order, for ${name}`, () => {
      const fixture = JSON.parse(readFileSync(`test/models/fixtures/layout-${name}.json`, 'utf8')) as {
        config: unknown;
        unet: [string, number[]][];
        vae: [string, number[]][];
      };
      const specs = ldmCheckpointSpecs(parseModelConfig(fixture.config, name));
      const table = (component: string) => specs.filter((s) => s.component === component).map((s) => [s.name, s.shape]);
      expect(table('unet')).toEqual(fixture.unet);
      expect(table('vae')).toEqual(fixture.vae);
    });
  }

  it('rejects a head count that does not divide the middle block, which always has attention', () => {
    const unet = { model_channels: 32, attention_resolutions: [], num_heads: 64 };
    expect(() => parseModelConfig({ unet: { ...unet, channel_mult: [1, 4] } }, 'x')).not.toThrow();
    expect(() => parseModelConfig({ unet: { ...unet, channel_mult: [1, 3] } }, 'x')).toThrow(
      /unet\.num_heads: 64 does not divide the 96 channels of level 1/,
    );
  });
});
