/**
 * The layers a LoRA may patch, under every name a LoRA file uses for them.
 *
 * The names are derived from our own checkpoint layout (ldm-layout specs and
 * the LDM → diffusers mapping), never by splitting a LoRA key at guessed
 * points: kohya-ss names are diffusers module paths with '.' replaced by '_'
 * (`lora_unet_down_blocks_0_attentions_0_proj_in`), which is ambiguous to
 * split but unambiguous to build.
 */
import type { ModelConfig } from '../config.js';
import { diffusersLocation } from '../checkpoint/diffusers-names.js';
import { ldmCheckpointSpecs } from '../ldm-layout/index.js';

export type LoraPart = 'unet' | 'text_encoder';

/** One Linear or Conv2d weight a LoRA can change. */
export interface LoraTarget {
  part: LoraPart;
  /** The weight's LDM name (`model.diffusion_model.…weight`). */
  ldmName: string;
  /** Its shape: [out, in] (Linear) or [out, in, kh, kw] (Conv2d). */
  shape: number[];
}

const KOHYA_PREFIX: Record<LoraPart, string> = { unet: 'lora_unet_', text_encoder: 'lora_te_' };

export interface LoraTargets {
  /** By kohya-ss name: `lora_unet_…`, `lora_te_…`. */
  kohya: Map<string, LoraTarget>;
  /** By `<part>.<diffusers module path>`: `unet.down_blocks.0.attentions.0.proj_in`. */
  diffusers: Map<string, LoraTarget>;
}

/** Every UNet and text-encoder Linear/Conv2d weight of `config`'s model. */
export function loraTargets(config: ModelConfig): LoraTargets {
  const kohya = new Map<string, LoraTarget>();
  const diffusers = new Map<string, LoraTarget>();
  for (const spec of ldmCheckpointSpecs(config)) {
    if (spec.kind !== 'weight' || (spec.component !== 'unet' && spec.component !== 'text_encoder')) continue;
    const where = diffusersLocation(spec.name, config);
    const key = where?.keys[0];
    if (!key?.endsWith('.weight')) throw new Error(`bug: no diffusers name for ${spec.name}`);
    const module = key.slice(0, -'.weight'.length);
    const target: LoraTarget = { part: spec.component, ldmName: spec.name, shape: spec.shape };
    const kohyaName = KOHYA_PREFIX[target.part] + module.replaceAll('.', '_');
    if (kohya.has(kohyaName)) throw new Error(`bug: two layers share the kohya name ${kohyaName}`);
    kohya.set(kohyaName, target);
    diffusers.set(`${target.part}.${module}`, target);
  }
  return { kohya, diffusers };
}
