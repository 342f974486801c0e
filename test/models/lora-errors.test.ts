// --lora's bad inputs: every LoRA file is checked before anything is
// written, and each problem is a FormatError naming the file and the key
// (or a UsageError for the argument), with the reason we refuse it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConvertArgs, parseLoraArg } from '../../src/cli/convert-args.js';
import { FormatError, UsageError } from '../../src/errors.js';
import { writeSafetensors, type SafetensorsDType, type TensorToWrite } from '../../src/io/safetensors.js';
import { LoraMerge } from '../../src/models/lora/lora-merge.js';
import { runTs } from '../support/run-cli.js';
import { TINY_A_CKPT, TINY_A_CONFIG_FILE, tinyAConfig } from './convert-tiny-a.js';

const config = tinyAConfig();
const KOHYA = 'test/fixtures/lora/tiny-a-kohya.safetensors';
const TO_Q = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q';
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-lora-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

interface T {
  shape: number[];
  dtype?: SafetensorsDType;
  fill?: number;
}

/** A LoRA file of the given tensors (float32 filled with 0.01 unless told). */
function lora(name: string, tensors: Record<string, T>, metadata?: Record<string, string>): string {
  const file = path.join(dir, name);
  const list: TensorToWrite[] = Object.entries(tensors).map(([key, t]) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const dtype = t.dtype ?? 'F32';
    const data = dtype === 'I32' ? new Uint8Array(new Int32Array(n).fill(1).buffer) : new Uint8Array(new Float32Array(n).fill(t.fill ?? 0.01).buffer);
    return { name: key, dtype, shape: t.shape, data };
  });
  writeSafetensors(file, list, metadata);
  return file;
}

/** A well-formed rank-4 pair for the 32x32 to_q layer, under `module`. */
const pair = (module: string, down = [4, 32], up = [32, 4]): Record<string, T> => ({
  [`${module}.lora_down.weight`]: { shape: down },
  [`${module}.lora_up.weight`]: { shape: up },
});

function refusal(file: string, multiplier = 1): FormatError {
  try {
    LoraMerge.open([{ path: file, multiplier }], config).close();
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).file).toBe(file);
    return err as FormatError;
  }
  throw new Error(`${file} was accepted`);
}

describe('LoRA files that are refused', () => {
  const cases: [string, Record<string, T>, RegExp][] = [
    [
      'unknown-module',
      pair('lora_unet_down_blocks_7_attentions_0_proj_in'),
      /tensor "lora_unet_down_blocks_7_attentions_0_proj_in\.lora_down\.weight": no layer of this model is named lora_unet_down_blocks_7_attentions_0_proj_in/,
    ],
    ['sdxl-ldm-names', pair('lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q'), /LDM-style UNet names are what kohya-ss writes for SDXL/],
    ['sdxl-te', pair('lora_te1_text_model_encoder_layers_0_self_attn_q_proj'), /"lora_te1_text_model_encoder_layers_0_self_attn_q_proj\.lora_down\.weight": patches one of SDXL's two text encoders/],
    ['te-layer-beyond-config', pair('lora_te_text_model_encoder_layers_5_self_attn_q_proj'), /no layer of this model is named lora_te_text_model_encoder_layers_5_self_attn_q_proj/],
    ['down-shape', pair(TO_Q, [4, 48]), new RegExp(`tensor "${TO_Q}\\.lora_down\\.weight" has shape \\[4, 48\\], expected \\[rank, 32\\] for layer model\\.diffusion_model\\.input_blocks\\.1\\.1\\.transformer_blocks\\.0\\.attn1\\.to_q\\.weight \\[32, 32\\]`)],
    ['up-rank', pair(TO_Q, [4, 32], [32, 3]), new RegExp(`"${TO_Q}\\.lora_up\\.weight" has shape \\[32, 3\\], expected \\[32, 4\\] or \\[32, 4, 1, 1\\]`)],
    ['conv-pair-on-linear', pair(TO_Q, [4, 32, 3, 3], [32, 4, 1, 1]), /has shape \[4, 32, 3, 3\], expected \[rank, 32\]/],
    ['linear-pair-on-3x3', pair('lora_unet_down_blocks_0_resnets_1_conv1'), /has shape \[4, 32\], expected \[rank, 32, 3, 3\] for layer model\.diffusion_model\.input_blocks\.2\.0\.in_layers\.2\.weight/],
    ['missing-up', { [`${TO_Q}.lora_down.weight`]: { shape: [4, 32] }, [`${TO_Q}.alpha`]: { shape: [] } }, new RegExp(`${TO_Q} has a down tensor \\("${TO_Q}\\.lora_down\\.weight"\\) but no up tensor`)],
    ['alpha-only', { [`${TO_Q}.alpha`]: { shape: [] } }, new RegExp(`${TO_Q} has only an alpha tensor`)],
    ['int-dtype', { [`${TO_Q}.lora_down.weight`]: { shape: [4, 32], dtype: 'I32' }, [`${TO_Q}.lora_up.weight`]: { shape: [32, 4] } }, /"lora_unet_.*_to_q\.lora_down\.weight" has dtype I32, expected F32, F16, BF16 or F64/],
    ['alpha-shape', { ...pair(TO_Q), [`${TO_Q}.alpha`]: { shape: [2] } }, /"lora_unet_.*_to_q\.alpha" has dtype F32 and shape \[2\], expected one float/],
    ['nan', { [`${TO_Q}.lora_down.weight`]: { shape: [4, 32] }, [`${TO_Q}.lora_up.weight`]: { shape: [32, 4], fill: NaN } }, /"lora_unet_.*_to_q\.lora_up\.weight" holds NaN or infinite values/],
    ['loha', { [`${TO_Q}.hada_w1_a`]: { shape: [32, 4] } }, /LoHa \(LyCORIS hada_\*\) is not supported/],
    ['dora', { ...pair(TO_Q), [`${TO_Q}.dora_scale`]: { shape: [32, 1] } }, /"lora_unet_.*_to_q\.dora_scale": DoRA .* is not supported/],
    ['lora-mid', { ...pair(TO_Q), [`${TO_Q}.lora_mid.weight`]: { shape: [4, 4, 3, 3] } }, /lora_mid\) is not supported/],
    ['flux', pair('transformer.single_transformer_blocks.0.attn.to_q'), /sd-tflite converts SD v1\.x/],
    ['no-prefix', pair('model.layers.0.q_proj'), /"model\.layers\.0\.q_proj\.lora_down\.weight": no known LoRA prefix/],
    ['not-lora', { 'model.diffusion_model.out.2.weight': { shape: [4, 32, 3, 3] } }, /"model\.diffusion_model\.out\.2\.weight": not a LoRA tensor/],
    ['empty', {}, /holds no LoRA tensors/],
    [
      'same-layer-twice',
      { ...pair(TO_Q), 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight': { shape: [4, 32] }, 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight': { shape: [32, 4] } },
      /patch the same layer model\.diffusion_model\.input_blocks\.1\.1\.transformer_blocks\.0\.attn1\.to_q\.weight/,
    ],
  ];
  for (const [name, tensors, message] of cases) {
    it(name, () => {
      expect(refusal(lora(`${name}.safetensors`, tensors)).message).toMatch(message);
    });
  }

  it('PEFT metadata that sets per-layer ranks or rsLoRA', () => {
    const tensors = { 'unet.mid_block.attentions.0.proj_in.lora_A.weight': { shape: [4, 64] }, 'unet.mid_block.attentions.0.proj_in.lora_B.weight': { shape: [64, 4] } };
    const meta = (extra: object) => ({ lora_adapter_metadata: JSON.stringify({ 'unet.r': 4, 'unet.lora_alpha': 8, ...extra }) });
    expect(refusal(lora('rank-pattern.safetensors', tensors, meta({ 'unet.rank_pattern': { proj_in: 8 } }))).message).toMatch(/sets unet\.rank_pattern = \{"proj_in":8\}, which this converter does not support/);
    expect(refusal(lora('rslora.safetensors', tensors, meta({ 'unet.use_rslora': true }))).message).toMatch(/unet\.use_rslora = true/);
    expect(refusal(lora('r-mismatch.safetensors', tensors, meta({ 'unet.r': 8 }))).message).toMatch(/has rank 4 but the file's lora_adapter_metadata says r = 8 for unet/);
    expect(refusal(lora('bad-json.safetensors', tensors, { lora_adapter_metadata: '{r: 4' })).message).toMatch(/metadata lora_adapter_metadata is not JSON/);
    // A plain PEFT config (r, lora_alpha, use_dora false, empty patterns) is accepted.
    const ok = lora('peft-ok.safetensors', tensors, meta({ 'unet.use_dora': false, 'unet.alpha_pattern': {}, 'unet.rank_pattern': {} }));
    const merge = LoraMerge.open([{ path: ok, multiplier: 1 }], config);
    expect(merge.layerCounts).toEqual([{ unet: 1, text_encoder: 0 }]);
    merge.close();
  });

  it('lists several problems at once, then "and N more"', () => {
    const tensors: Record<string, T> = {};
    for (let i = 0; i < 9; i++) Object.assign(tensors, pair(`lora_unet_nowhere_${i}`));
    const message = refusal(lora('many.safetensors', tensors)).message;
    expect(message.match(/no layer of this model/g)).toHaveLength(6);
    expect(message).toContain('; and 3 more');
  });

  it('a file that is not safetensors, and one that does not exist', () => {
    const junk = path.join(dir, 'junk.safetensors');
    fs.writeFileSync(junk, 'not a safetensors file at all');
    expect(() => LoraMerge.open([{ path: junk, multiplier: 1 }], config)).toThrow(FormatError);
    expect(() => LoraMerge.open([{ path: junk, multiplier: 1 }], config)).toThrow(junk);
    const missing = path.join(dir, 'missing.safetensors');
    expect(() => LoraMerge.open([{ path: KOHYA, multiplier: 1 }, { path: missing, multiplier: 1 }], config)).toThrow(UsageError);
  });

  it('a LoRA for other layer sizes (as SD v1.5 LoRAs are against tiny-a) is a shape error pointing at the model config', () => {
    const message = refusal(lora('sd15-sized.safetensors', pair(TO_Q, [16, 320], [320, 16]))).message;
    expect(message).toMatch(/has shape \[16, 320\], expected \[rank, 32\] .*\(is this LoRA for SD v1\.5 with this model config\?\)/);
  });
});

describe('--lora argument', () => {
  it('FILE[:MULTIPLIER], repeatable, in order', () => {
    expect(parseLoraArg('style.safetensors')).toEqual({ path: 'style.safetensors', multiplier: 1 });
    expect(parseLoraArg('style.safetensors:0.8')).toEqual({ path: 'style.safetensors', multiplier: 0.8 });
    expect(parseLoraArg('slider.safetensors:-1.5')).toEqual({ path: 'slider.safetensors', multiplier: -1.5 });
    expect(parseLoraArg('off.safetensors:0')).toEqual({ path: 'off.safetensors', multiplier: 0 });
    expect(parseLoraArg('C:\\loras\\style.safetensors')).toEqual({ path: 'C:\\loras\\style.safetensors', multiplier: 1 });
    expect(parseLoraArg('C:\\loras\\style.safetensors:.5')).toEqual({ path: 'C:\\loras\\style.safetensors', multiplier: 0.5 });
    const args = parseConvertArgs(['--ckpt', 'x', '--out', 'o', '--lora', 'a.safetensors:0.5', '--lora', 'b.safetensors'])!;
    expect(args.loras).toEqual([
      { path: 'a.safetensors', multiplier: 0.5 },
      { path: 'b.safetensors', multiplier: 1 },
    ]);
    expect(parseConvertArgs(['--ckpt', 'x', '--out', 'o'])!.loras).toEqual([]);
  });

  it('bad multipliers and empty paths are usage errors', () => {
    const bad: [string, RegExp][] = [
      ['style.safetensors:strong', /--lora style\.safetensors:strong: the multiplier after ':' must be a number .*got "strong"/],
      ['style.safetensors:', /the multiplier after ':' must be a number/],
      ['style.safetensors:1e999', /the multiplier must be a finite number, got "1e999"/],
      [':0.5', /--lora needs a file path/],
      ['', /--lora needs a file path/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseLoraArg(text), text).toThrow(UsageError);
      expect(() => parseLoraArg(text), text).toThrow(message);
    }
  });
});

describe('npm run convert --lora', () => {
  const convert = (out: string, ...loras: string[]) =>
    runTs('src/cli/convert.ts', ['--ckpt', TINY_A_CKPT, '--model-config', TINY_A_CONFIG_FILE, '--out', out, '--components', 'clip', ...loras.flatMap((l) => ['--lora', l])]);

  it('merges and reports each file', async () => {
    const out = path.join(dir, 'ok');
    const cli = await convert(out, `${KOHYA}:0.8`, 'test/fixtures/lora/tiny-a-peft.safetensors:-0.5');
    expect(cli.stderr).not.toContain('error');
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain(`LoRA ${KOHYA} (multiplier 0.8): 14 UNet and 12 text-encoder layers`);
    expect(cli.stdout).toContain('LoRA test/fixtures/lora/tiny-a-peft.safetensors (multiplier -0.5): 3 UNet and 2 text-encoder layers');
    expect(cli.stdout).not.toContain('note:');
    expect(fs.readdirSync(out)).toEqual(['clip.tflite']);
  });

  it('says so when no LoRA layer is in the components converted', async () => {
    const out = path.join(dir, 'unet-only');
    const cli = await convert(out, lora('unet-only.safetensors', pair(TO_Q)));
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('note: no --lora layer is in the components converted (clip); LoRAs patch diffusion (UNet) and clip (text encoder)');
    expect(fs.readdirSync(out)).toEqual(['clip.tflite']);
  });

  it('a bad LoRA fails before anything is written', async () => {
    const out = path.join(dir, 'bad');
    const bad = lora('cli-bad.safetensors', pair(TO_Q, [4, 48]));
    const cli = await convert(out, KOHYA, bad);
    expect(cli.status).not.toBe(0);
    expect(cli.stderr).toMatch(new RegExp(`^error: ${bad}: not a LoRA this converter can merge into this model: tensor "${TO_Q}\\.lora_down\\.weight" has shape \\[4, 48\\]`));
    expect(cli.stderr).not.toContain('internal error');
    expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
  });
});
