// convert --vae FILE: the VAE's tensors come from another file, named as a
// VAE-only LDM file, a whole LDM checkpoint or diffusers' AutoencoderKL.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';
import { openCheckpoint } from '../../src/models/checkpoint/checkpoint.js';
import { COMPONENTS, type ComponentName } from '../../src/models/checkpoint/component-weights.js';
import { diffusersLocation } from '../../src/models/checkpoint/diffusers-names.js';
import { withVae } from '../../src/models/checkpoint/vae-override.js';
import { buildComponent, checkComponents } from '../../src/models/convert.js';
import { VAE_PREFIX } from '../../src/models/ldm-layout/index.js';
import { runTs } from '../support/run-cli.js';
import { TINY_A_CKPT, TINY_A_CONFIG_FILE, tinyAConfig } from './convert-tiny-a.js';

const config = tinyAConfig();
let dir: string;
let tiny: SafetensorsFile;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-convert-vae-'));
  tiny = SafetensorsFile.open(TINY_A_CKPT);
});

afterAll(() => {
  tiny.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface VaeTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** A VAE file of tiny-a's VAE tensors as `edit` renames or changes them (null drops one). */
function vaeFile(name: string, edit: (t: VaeTensor) => VaeTensor | null): string {
  const tensors: TensorToWrite[] = [];
  for (const e of tiny.entries.values()) {
    if (!e.name.startsWith(VAE_PREFIX)) continue;
    const t = edit({ name: e.name, shape: e.shape, values: tiny.readFloat32(e.name) });
    if (t === null) continue;
    const bytes = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    tensors.push({ name: t.name, dtype: 'F32', shape: t.shape, data: () => bytes });
  }
  const file = path.join(dir, name);
  writeSafetensors(file, tensors);
  return file;
}

const unprefixed = (t: VaeTensor): VaeTensor => ({ ...t, name: t.name.slice(VAE_PREFIX.length) });

/** Each component converted (fp32) from tiny-a with the given VAE file. */
function converted(vae?: string): Map<ComponentName, Uint8Array> {
  const base = openCheckpoint(TINY_A_CKPT, config);
  const ckpt = vae ? withVae(base, vae, config) : base;
  try {
    const sources = checkComponents(ckpt, COMPONENTS, config);
    const out = new Map<ComponentName, Uint8Array>();
    for (const c of COMPONENTS) out.set(c, buildComponent(c, sources.get(c)!, { config, precision: 'fp32', target: 'cpu' }).model.toBuffer());
    return out;
  } finally {
    ckpt.close();
  }
}

describe('withVae', () => {
  it('the same VAE under each naming converts to byte-identical files', () => {
    const plain = converted();
    const namings: [string, (t: VaeTensor) => VaeTensor][] = [
      ['ldm-vae-only.safetensors', unprefixed],
      ['ldm-prefixed.safetensors', (t) => t],
      ['diffusers-vae.safetensors', (t) => ({ ...t, name: diffusersLocation(t.name, config)!.keys[0]! })],
    ];
    for (const [name, rename] of namings) {
      const got = converted(vaeFile(name, rename));
      for (const c of COMPONENTS) expect(Buffer.compare(got.get(c)!, plain.get(c)!), `${name} ${c}`).toBe(0);
    }
  });

  it('takes the VAE from the file: other values change the decoder and encoder only', () => {
    const plain = converted();
    const got = converted(vaeFile('scaled.safetensors', (t) => unprefixed({ ...t, values: t.values.map((v) => v * 0.5) })));
    for (const c of ['clip', 'diffusion'] as const) expect(Buffer.compare(got.get(c)!, plain.get(c)!), c).toBe(0);
    for (const c of ['decoder', 'encoder'] as const) expect(Buffer.compare(got.get(c)!, plain.get(c)!), c).not.toBe(0);
  });

  it('names the VAE file for a missing tensor, and refuses a file that is not a VAE', () => {
    const missing = vaeFile('missing.safetensors', (t) => (t.name.endsWith('decoder.conv_in.bias') ? null : unprefixed(t)));
    const check = (vae: string) => {
      const ckpt = withVae(openCheckpoint(TINY_A_CKPT, config), vae, config);
      try {
        checkComponents(ckpt, ['decoder'], config);
      } finally {
        ckpt.close();
      }
    };
    expect(() => check(missing)).toThrow(`missing tensor "decoder.conv_in.bias" or "first_stage_model.decoder.conv_in.bias" in the --vae file ${missing} (expected shape [64])`);
    const shape = vaeFile('shape.safetensors', (t) =>
      unprefixed(t.name.endsWith('decoder.conv_in.weight') ? { ...t, shape: [10], values: t.values.subarray(0, 10) } : t),
    );
    expect(() => check(shape)).toThrow(/tensor "decoder\.conv_in\.weight" in .*shape\.safetensors \(LDM name first_stage_model\.decoder\.conv_in\.weight\) has shape/);
    expect(() => withVae(openCheckpoint(TINY_A_CKPT, config), TINY_A_CKPT.replace('tiny-a.safetensors', 'clip_out.npy'), config)).toThrow(FormatError);
    const notVae = path.join(dir, 'unet-only.safetensors');
    writeSafetensors(notVae, [{ name: 'model.diffusion_model.out.2.bias', dtype: 'F32', shape: [1], data: () => new Uint8Array(4) }]);
    expect(() => withVae(openCheckpoint(TINY_A_CKPT, config), notVae, config)).toThrow(/is not a VAE: no encoder\.\*/);
  });

  it('npm run convert --vae writes the decoder from the VAE file; a bad --vae exits 2 before any work', async () => {
    const vae = vaeFile('cli-vae.safetensors', (t) => unprefixed({ ...t, values: t.values.map((v) => v * 0.5) }));
    const out = path.join(dir, 'cli-out');
    const common = ['--ckpt', TINY_A_CKPT, '--model-config', TINY_A_CONFIG_FILE, '--out', out, '--components', 'decoder'];
    const r = await runTs('src/cli/convert.ts', [...common, '--vae', vae]);
    expect(r.status, r.stderr).toBe(0);
    expect(Buffer.compare(fs.readFileSync(path.join(out, 'decoder.tflite')), converted(vae).get('decoder')!)).toBe(0);

    const bad = await runTs('src/cli/convert.ts', [...common, '--out', path.join(dir, 'bad-out'), '--vae', path.join(dir, 'none.safetensors')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error: --vae: file .*none\.safetensors does not exist\n$/);
    expect(fs.existsSync(path.join(dir, 'bad-out'))).toBe(false);
  });
});
