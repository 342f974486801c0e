/**
 * The scaling of a diffusers/PEFT LoRA file. PEFT stores no per-layer
 * `.alpha` tensor: recent diffusers releases put the LoraConfig in the
 * safetensors metadata (`lora_adapter_metadata`, JSON, fields prefixed by
 * the model: `unet.r`, `unet.lora_alpha`, …) and scale each layer by
 * lora_alpha / r. Files without it load in diffusers with alpha = rank.
 */
import type { LoraPart } from './lora-targets.js';

export const PEFT_METADATA_KEY = 'lora_adapter_metadata';

export interface PeftScaling {
  r: number;
  loraAlpha: number;
}

const PARTS: LoraPart[] = ['unet', 'text_encoder'];

const nonEmpty = (v: unknown) => v !== undefined && v !== null && (typeof v !== 'object' || Object.keys(v).length > 0);

/** Each model's r and lora_alpha from the metadata (empty map without it); throws an Error saying what it cannot honour. */
export function peftScaling(metadata: Record<string, string>): Map<LoraPart, PeftScaling> {
  const found = new Map<LoraPart, PeftScaling>();
  const text = metadata[PEFT_METADATA_KEY];
  if (text === undefined) return found;
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    throw new Error(`metadata ${PEFT_METADATA_KEY} is not JSON`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`metadata ${PEFT_METADATA_KEY} is not a JSON object`);
  const field = (name: string): unknown => (Object.hasOwn(config, name) ? (config as Record<string, unknown>)[name] : undefined);
  for (const part of PARTS) {
    const r = field(`${part}.r`);
    const loraAlpha = field(`${part}.lora_alpha`);
    if (r === undefined && loraAlpha === undefined) continue;
    if (!(typeof r === 'number' && Number.isInteger(r) && r >= 1) || !(typeof loraAlpha === 'number' && Number.isFinite(loraAlpha))) {
      throw new Error(`metadata ${PEFT_METADATA_KEY} has ${part}.r = ${JSON.stringify(r)} and ${part}.lora_alpha = ${JSON.stringify(loraAlpha)}, expected a whole number and a finite number`);
    }
    for (const unsupported of ['rank_pattern', 'alpha_pattern', 'use_dora', 'use_rslora']) {
      const value = field(`${part}.${unsupported}`);
      if (nonEmpty(value) && value !== false) {
        throw new Error(`metadata ${PEFT_METADATA_KEY} sets ${part}.${unsupported} = ${JSON.stringify(value)}, which this converter does not support (only one r and lora_alpha per model)`);
      }
    }
    found.set(part, { r, loraAlpha });
  }
  return found;
}
