// Checkpoint layouts and the converter's error paths: the diffusers folder
// layout against the original LDM file (same weights must give the same
// .tflite bytes), and clear errors, with no output file, for bad checkpoints.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConvertArgs } from '../../src/cli/convert-args.js';
import { FormatError, UsageError } from '../../src/errors.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../../src/io/half.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';
import { openCheckpoint } from '../../src/models/checkpoint/checkpoint.js';
import { COMPONENTS, componentSpecs } from '../../src/models/checkpoint/component-weights.js';
import { diffusersLocation } from '../../src/models/checkpoint/diffusers-names.js';
import { buildComponent, checkComponents, writeComponent } from '../../src/models/convert.js';
import { runTs } from '../support/run-cli.js';
import { TINY_A_CKPT, TINY_A_CONFIG_FILE, tinyAConfig } from './convert-tiny-a.js';

const config = tinyAConfig();
let dir: string;
let tiny: SafetensorsFile;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-convert-ckpt-'));
  tiny = SafetensorsFile.open(TINY_A_CKPT);
});

afterAll(() => {
  tiny.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A copy of tiny-a with some tensors changed (`edit` returns the tensor to write, or null to drop it). */
function editedCopy(name: string, edit: (t: TensorToWrite) => TensorToWrite | null): string {
  const file = path.join(dir, name);
  const tensors: TensorToWrite[] = [];
  for (const e of tiny.entries.values()) {
    const t = edit({ name: e.name, dtype: e.dtype, shape: e.shape, data: () => tiny.readBytes(e.name) });
    if (t) tensors.push(t);
  }
  writeSafetensors(file, tensors);
  return file;
}

const bytesOf = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The diffusers folder of tiny-a: VAE attention as linear weights, text encoder as the fp16 variant. */
function diffusersFolder(): string {
  const folder = path.join(dir, 'diffusers');
  const parts: Record<string, TensorToWrite[]> = { unet: [], vae: [], text_encoder: [] };
  for (const component of COMPONENTS) {
    for (const spec of componentSpecs(component, config)) {
      const where = diffusersLocation(spec.name, config)!;
      const data = () => tiny.readBytes(spec.name);
      const linear = /attn_1\.(q|k|v|proj_out)\.weight$/.test(spec.name);
      if (where.part === 'text_encoder') {
        const half = () => bytesOf(f32ArrayToF16(tiny.readFloat32(spec.name)));
        parts.text_encoder!.push({ name: where.keys[0]!, dtype: 'F16', shape: spec.shape, data: half });
      } else {
        parts[where.part]!.push({ name: where.keys[0]!, dtype: 'F32', shape: linear ? spec.shape.slice(0, 2) : spec.shape, data });
      }
    }
  }
  for (const [part, tensors] of Object.entries(parts)) {
    fs.mkdirSync(path.join(folder, part), { recursive: true });
    const file = part === 'text_encoder' ? 'model.fp16.safetensors' : 'diffusion_pytorch_model.safetensors';
    writeSafetensors(path.join(folder, part, file), tensors);
  }
  return folder;
}

describe('diffusers layout', () => {
  it('maps LDM names to the diffusers names of UNet2DConditionModel, AutoencoderKL and CLIPTextModel', () => {
    const u = 'model.diffusion_model.';
    const v = 'first_stage_model.';
    const cases: [string, string][] = [
      [`${u}time_embed.0.weight`, 'time_embedding.linear_1.weight'],
      [`${u}time_embed.2.bias`, 'time_embedding.linear_2.bias'],
      [`${u}input_blocks.0.0.weight`, 'conv_in.weight'],
      [`${u}input_blocks.1.0.in_layers.0.weight`, 'down_blocks.0.resnets.0.norm1.weight'],
      [`${u}input_blocks.2.0.emb_layers.1.weight`, 'down_blocks.0.resnets.1.time_emb_proj.weight'],
      [`${u}input_blocks.2.1.transformer_blocks.0.attn1.to_q.weight`, 'down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q.weight'],
      [`${u}input_blocks.3.0.op.weight`, 'down_blocks.0.downsamplers.0.conv.weight'],
      [`${u}input_blocks.7.0.skip_connection.bias`, 'down_blocks.2.resnets.0.conv_shortcut.bias'],
      [`${u}input_blocks.11.0.out_layers.3.weight`, 'down_blocks.3.resnets.1.conv2.weight'],
      [`${u}middle_block.0.in_layers.2.weight`, 'mid_block.resnets.0.conv1.weight'],
      [`${u}middle_block.1.proj_out.weight`, 'mid_block.attentions.0.proj_out.weight'],
      [`${u}middle_block.2.out_layers.0.bias`, 'mid_block.resnets.1.norm2.bias'],
      [`${u}output_blocks.2.1.conv.weight`, 'up_blocks.0.upsamplers.0.conv.weight'],
      [`${u}output_blocks.3.0.skip_connection.weight`, 'up_blocks.1.resnets.0.conv_shortcut.weight'],
      [`${u}output_blocks.5.1.transformer_blocks.0.ff.net.0.proj.weight`, 'up_blocks.1.attentions.2.transformer_blocks.0.ff.net.0.proj.weight'],
      [`${u}output_blocks.5.2.conv.bias`, 'up_blocks.1.upsamplers.0.conv.bias'],
      [`${u}output_blocks.11.1.norm.weight`, 'up_blocks.3.attentions.2.norm.weight'],
      [`${u}out.0.weight`, 'conv_norm_out.weight'],
      [`${u}out.2.bias`, 'conv_out.bias'],
      [`${v}encoder.down.0.block.1.conv2.weight`, 'encoder.down_blocks.0.resnets.1.conv2.weight'],
      [`${v}encoder.down.2.block.0.nin_shortcut.weight`, 'encoder.down_blocks.2.resnets.0.conv_shortcut.weight'],
      [`${v}encoder.down.1.downsample.conv.bias`, 'encoder.down_blocks.1.downsamplers.0.conv.bias'],
      [`${v}encoder.mid.block_2.norm1.weight`, 'encoder.mid_block.resnets.1.norm1.weight'],
      [`${v}encoder.mid.attn_1.norm.bias`, 'encoder.mid_block.attentions.0.group_norm.bias'],
      [`${v}encoder.norm_out.weight`, 'encoder.conv_norm_out.weight'],
      [`${v}decoder.up.0.block.0.nin_shortcut.weight`, 'decoder.up_blocks.3.resnets.0.conv_shortcut.weight'],
      [`${v}decoder.up.3.upsample.conv.weight`, 'decoder.up_blocks.0.upsamplers.0.conv.weight'],
      [`${v}decoder.up.1.block.2.conv1.bias`, 'decoder.up_blocks.2.resnets.2.conv1.bias'],
      [`${v}quant_conv.weight`, 'quant_conv.weight'],
      [`${v}post_quant_conv.bias`, 'post_quant_conv.bias'],
      ['cond_stage_model.transformer.text_model.encoder.layers.1.mlp.fc2.weight', 'text_model.encoder.layers.1.mlp.fc2.weight'],
    ];
    for (const [ldm, diffusers] of cases) expect(diffusersLocation(ldm, config)?.keys[0], ldm).toBe(diffusers);
    expect(diffusersLocation(`${v}decoder.mid.attn_1.q.weight`, config)!.keys).toEqual([
      'decoder.mid_block.attentions.0.to_q.weight',
      'decoder.mid_block.attentions.0.query.weight',
    ]);
    expect(diffusersLocation(`${v}encoder.mid.attn_1.proj_out.bias`, config)!.keys).toEqual([
      'encoder.mid_block.attentions.0.to_out.0.bias',
      'encoder.mid_block.attentions.0.proj_attn.bias',
    ]);
  });

  it('gives every LDM tensor its own diffusers name', () => {
    const seen = new Map<string, string>();
    for (const component of COMPONENTS) {
      for (const spec of componentSpecs(component, config)) {
        const where = diffusersLocation(spec.name, config)!;
        const key = `${where.part}/${where.keys[0]}`;
        expect(seen.get(key), `${spec.name} and ${seen.get(key)} both map to ${key}`).toBeUndefined();
        seen.set(key, spec.name);
      }
    }
  });

  it('a diffusers folder of the same weights converts to byte-identical files (all components, fp32 and int8)', () => {
    const ldm = openCheckpoint(TINY_A_CKPT, config);
    const diffusers = openCheckpoint(diffusersFolder(), config);
    expect([ldm.layout, diffusers.layout]).toEqual(['ldm', 'diffusers']);
    try {
      const a = checkComponents(ldm, COMPONENTS, config);
      const b = checkComponents(diffusers, COMPONENTS, config);
      for (const component of COMPONENTS) {
        for (const precision of ['fp32', 'int8'] as const) {
          const options = { config, precision, target: 'cpu' as const };
          const fromLdm = buildComponent(component, a.get(component)!, options).model.toBuffer();
          const fromDiffusers = buildComponent(component, b.get(component)!, options).model.toBuffer();
          expect(Buffer.compare(fromLdm, fromDiffusers), `${component} ${precision}`).toBe(0);
        }
      }
    } finally {
      ldm.close();
      diffusers.close();
    }
  });
});

describe('bad checkpoints', () => {
  const check = (file: string) => {
    const ckpt = openCheckpoint(file, config);
    try {
      checkComponents(ckpt, COMPONENTS, config);
    } finally {
      ckpt.close();
    }
  };

  it('a missing tensor is named with its expected shape', () => {
    const file = editedCopy('missing.safetensors', (t) => (t.name === 'model.diffusion_model.out.2.weight' ? null : t));
    expect(() => check(file)).toThrow(FormatError);
    expect(() => check(file)).toThrow('missing tensor "model.diffusion_model.out.2.weight" (expected shape [4, 32, 3, 3])');
  });

  it('a wrong shape or a non-float dtype is named', () => {
    const name = 'first_stage_model.decoder.conv_in.bias';
    const shape = editedCopy('shape.safetensors', (t) => (t.name === name ? { ...t, shape: [16], data: new Uint8Array(64) } : t));
    expect(() => check(shape)).toThrow(`tensor "${name}" has shape [16], expected [64]`);
    const dtype = editedCopy('dtype.safetensors', (t) => (t.name === name ? { ...t, dtype: 'I32' } : t));
    expect(() => check(dtype)).toThrow(`tensor "${name}" has dtype I32, expected F32, F16 or BF16`);
  });

  it('a missing tensor of a diffusers folder names its diffusers key', () => {
    const folder = path.join(dir, 'diffusers-missing');
    fs.mkdirSync(path.join(folder, 'vae'), { recursive: true });
    writeSafetensors(path.join(folder, 'vae', 'diffusion_pytorch_model.safetensors'), [{ name: 'decoder.conv_in.bias', dtype: 'F32', shape: [64], data: new Uint8Array(256) }]);
    const ckpt = openCheckpoint(folder, config);
    try {
      expect(() => checkComponents(ckpt, ['decoder'], config)).toThrow('missing tensor vae/"decoder.conv_in.weight" (LDM name first_stage_model.decoder.conv_in.weight) (expected shape [64, 4, 3, 3])');
      expect(() => checkComponents(ckpt, ['clip'], config)).toThrow('diffusers folder has no text_encoder/model.safetensors or text_encoder/model.fp16.safetensors');
    } finally {
      ckpt.close();
    }
  });

  it('a layout that is neither LDM nor diffusers is refused', () => {
    const other = path.join(dir, 'other.safetensors');
    writeSafetensors(other, [{ name: 'down_blocks.0.resnets.0.norm1.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]);
    expect(() => openCheckpoint(other, config)).toThrow(/neither an original-LDM checkpoint .* nor a diffusers folder/);
    const emptyDir = fs.mkdtempSync(path.join(dir, 'empty-'));
    expect(() => openCheckpoint(emptyDir, config)).toThrow(/neither an original-LDM checkpoint/);
    expect(() => openCheckpoint(path.join(dir, 'no-such-file'), config)).toThrow(UsageError);
  });

  it('the CLI exits non-zero with the message and writes no file', async () => {
    const file = editedCopy('cli-missing.safetensors', (t) => (t.name.endsWith('final_layer_norm.bias') ? null : t));
    const out = path.join(dir, 'cli-out');
    const cli = await runTs('src/cli/convert.ts', ['--ckpt', file, '--model-config', TINY_A_CONFIG_FILE, '--out', out]);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain('error: ');
    expect(cli.stderr).toContain('missing tensor "cond_stage_model.transformer.text_model.final_layer_norm.bias" (expected shape [32])');
    expect(cli.stderr).not.toContain('internal error');
    expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
  });
});

describe('writing', () => {
  it('a failed write (here: the disk filling up after 10 tensors) is a clear error and leaves no file behind', () => {
    const ckpt = openCheckpoint(TINY_A_CKPT, config);
    const out = fs.mkdtempSync(path.join(dir, 'full-disk-'));
    try {
      const source = checkComponents(ckpt, ['decoder'], config).get('decoder')!;
      let reads = 0;
      const failing = {
        shape: (name: string) => source.shape(name),
        read: (name: string) => {
          if (++reads > 10) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          return source.read(name);
        },
      };
      const file = path.join(out, 'decoder.tflite');
      expect(() => writeComponent('decoder', failing, file, { config, precision: 'fp32', target: 'cpu' })).toThrow(UsageError);
      reads = 0;
      expect(() => writeComponent('decoder', failing, file, { config, precision: 'fp32', target: 'cpu' })).toThrow(
        `cannot write ${file}: ENOSPC: no space left on device, write`,
      );
      expect(fs.readdirSync(out)).toEqual([]);
    } finally {
      ckpt.close();
    }
  });
});

describe('convert arguments', () => {
  it('defaults: fp32, cpu, SD v1.5, all components, dynamic sizes', () => {
    const a = parseConvertArgs(['--ckpt', 'x.safetensors', '--out', 'o'])!;
    expect(a.components).toEqual(['clip', 'diffusion', 'decoder', 'encoder']);
    expect([a.options.precision, a.options.target, a.options.height, a.options.width]).toEqual(['fp32', 'cpu', undefined, undefined]);
    expect(a.options.config.unet.model_channels).toBe(320);
    expect(parseConvertArgs(['--help'])).toBeUndefined();
    const b = parseConvertArgs(['--ckpt', 'x', '--out', 'o', '--precision', 'int8', '--components', 'clip,decoder', '--target', 'gpu', '--height', '512', '--width', '768'])!;
    expect([b.components, b.options.precision, b.options.target, b.options.height, b.options.width]).toEqual([['clip', 'decoder'], 'int8', 'gpu', 512, 768]);
  });

  it('rejects bad arguments with usage errors', () => {
    const bad: [string[], RegExp][] = [
      [['--out', 'o'], /--ckpt PATH is required/],
      [['--ckpt', 'x'], /--out DIR is required/],
      [['--ckpt', 'x', '--out', 'o', '--precision', 'bf16'], /--precision must be one of fp32, fp16, int8, got "bf16"/],
      [['--ckpt', 'x', '--out', 'o', '--target', 'npu'], /--target must be one of cpu, gpu/],
      [['--ckpt', 'x', '--out', 'o', '--components', 'clip,vae'], /unknown component "vae"/],
      [['--ckpt', 'x', '--out', 'o', '--components', 'clip,clip'], /at most once/],
      [['--ckpt', 'x', '--out', 'o', '--height', '500', '--width', '512'], /--height must be a positive multiple of 64, got "500"/],
      [['--ckpt', 'x', '--out', 'o', '--height', '512'], /--height and --width go together/],
      [['--ckpt', 'x', '--out', 'o', '--target', 'gpu'], /--target gpu needs --height and --width/],
      [['--ckpt', 'x', '--out', 'o', '--model-config', 'no-such.json'], /neither 'sd15' nor a readable JSON file/],
      [['--ckpt', 'x', '--out', 'o', '--colour'], /Unknown option '--colour'/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseConvertArgs(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parseConvertArgs(argv), argv.join(' ')).toThrow(message);
    }
    expect(parseConvertArgs(['--ckpt', 'x', '--out', 'o', '--target', 'gpu', '--components', 'clip'])!.options.target).toBe('gpu');
  });
});

// Keeps f16ArrayToF32 honest for the fp16 folder: tiny-a's weights are float16-exact.
it('tiny-a weights survive the fp16 round trip exactly', () => {
  const w = tiny.readFloat32('cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight');
  expect(f16ArrayToF32(f32ArrayToF16(w))).toEqual(w);
});
