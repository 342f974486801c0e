/**
 * A checkpoint whose VAE comes from another file (`convert --vae FILE`), as
 * users of SD v1.5 swap in vae-ft-mse-840000-ema-pruned.safetensors. The
 * file may name its tensors as a VAE-only LDM file does (encoder.*,
 * decoder.*, quant_conv.*, post_quant_conv.*), as a whole LDM checkpoint
 * does (first_stage_model.*), or as diffusers' AutoencoderKL does; each
 * tensor is looked up under those names in turn.
 */
import { FormatError } from '../../errors.js';
import { SafetensorsFile } from '../../io/safetensors.js';
import type { ModelConfig } from '../config.js';
import { VAE_PREFIX } from '../ldm-layout/index.js';
import type { Checkpoint, TensorLocation } from './checkpoint.js';
import { diffusersLocation } from './diffusers-names.js';

const VAE_PARTS = ['encoder.', 'decoder.', 'quant_conv.', 'post_quant_conv.'];

export function withVae(base: Checkpoint, vaePath: string, config: ModelConfig): Checkpoint {
  const file = SafetensorsFile.open(vaePath);
  const keys = [...file.entries.keys()];
  if (!keys.some((k) => VAE_PARTS.some((p) => k.startsWith(p) || k.startsWith(VAE_PREFIX + p)))) {
    file.close();
    throw new FormatError(vaePath, `is not a VAE: no encoder.*, decoder.*, quant_conv.* or post_quant_conv.* tensors (with or without ${JSON.stringify(VAE_PREFIX)})`);
  }
  const candidates = (ldmName: string): string[] => {
    const unprefixed = ldmName.slice(VAE_PREFIX.length);
    const diffusers = diffusersLocation(ldmName, config);
    return [unprefixed, ldmName, ...(diffusers?.part === 'vae' ? diffusers.keys : [])];
  };
  const isVae = (ldmName: string) => ldmName.startsWith(VAE_PREFIX);

  return {
    layout: base.layout,
    path: base.path,
    locate(ldmName: string): TensorLocation | undefined {
      if (!isVae(ldmName)) return base.locate(ldmName);
      const key = candidates(ldmName).find((k) => file.entries.has(k));
      return key === undefined ? undefined : { file, key };
    },
    describe(ldmName: string): string {
      if (!isVae(ldmName)) return base.describe(ldmName);
      const names = [...new Set(candidates(ldmName))].map((k) => JSON.stringify(k)).join(' or ');
      return `${names} in the --vae file ${vaePath}`;
    },
    close(): void {
      file.close();
      base.close();
    },
  };
}
