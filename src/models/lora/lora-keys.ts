/**
 * What one tensor key of a LoRA file says: which module it patches (in the
 * file's own naming) and which part of the patch it holds. Three namings:
 *
 * - kohya-ss / sd-scripts (what civitai distributes):
 *   `lora_unet_<module with '_'>.lora_down.weight`, `.lora_up.weight`, `.alpha`;
 *   `lora_te_…` for the text encoder.
 * - diffusers / PEFT: `unet.<module>.lora_A.weight` / `.lora_B.weight`
 *   (also `text_encoder.`, `base_model.model.`, and the older
 *   `.lora.down.weight` / `.lora_linear_layer.down.weight`).
 * - diffusers' older attention processors:
 *   `<attention>.processor.to_q_lora.down.weight` (`to_out_lora` is `to_out.0`).
 *
 * Kinds of file we knowingly do not merge get a key-specific reason.
 */
export type LoraRole = 'down' | 'up' | 'alpha';
export type LoraNaming = 'kohya' | 'diffusers';

export interface LoraKey {
  naming: LoraNaming;
  /** kohya: the full kohya name (`lora_unet_…`); diffusers: `unet.<path>` or `text_encoder.<path>`. */
  module: string;
  role: LoraRole;
}

export type ParsedLoraKey = LoraKey | { unsupported: string };

const ROLE_SUFFIXES: [string, LoraRole][] = [
  ['.lora_down.weight', 'down'],
  ['.lora_up.weight', 'up'],
  ['.lora_A.weight', 'down'],
  ['.lora_B.weight', 'up'],
  ['.lora.down.weight', 'down'],
  ['.lora.up.weight', 'up'],
  ['.lora_linear_layer.down.weight', 'down'],
  ['.lora_linear_layer.up.weight', 'up'],
  ['.alpha', 'alpha'],
];

/** Tensors of adapter kinds other than plain (or conv) LoRA, and why they are refused. */
const UNSUPPORTED_KINDS: [RegExp, string][] = [
  [/\.lora_mid\.weight$/, 'LoCon with CP/Tucker decomposition (lora_mid) is not supported; only lora_down/lora_up pairs are merged'],
  [/\.hada_(w1|w2|t1|t2)/, 'LoHa (LyCORIS hada_*) is not supported; only LoRA (lora_down/lora_up) is merged'],
  [/\.lokr_/, 'LoKr (LyCORIS lokr_*) is not supported; only LoRA (lora_down/lora_up) is merged'],
  [/\.(oft_blocks|oft_diag)/, 'OFT is not supported; only LoRA (lora_down/lora_up) is merged'],
  [/\.(dora_scale|lora_magnitude_vector\b)/, 'DoRA (weight-decomposed LoRA) is not supported: its magnitude vector rescales whole weights'],
  [/\.diff(_b)?$/, 'full weight differences (.diff/.diff_b) are not supported; only low-rank pairs are merged'],
  [/\.(lora_(up|down|A|B)|lora\.(up|down)|lora_linear_layer\.(up|down))\.bias$/, 'LoRA biases are not supported (SD v1.5 LoRA trainers do not make them)'],
  [/^(bundle_emb|emb_params|string_to_param)\b/, 'embedded textual-inversion embeddings are not supported; only LoRA layers are merged'],
];

const OLD_PROCESSOR = /^(?:unet\.)?(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/;

export function parseLoraKey(key: string): ParsedLoraKey {
  const old = key.match(OLD_PROCESSOR);
  if (old) {
    const projection = old[2] === 'to_out' ? 'to_out.0' : old[2]!;
    return { naming: 'diffusers', module: `unet.${old[1]}.${projection}`, role: old[3] === 'down' ? 'down' : 'up' };
  }
  for (const [pattern, reason] of UNSUPPORTED_KINDS) if (pattern.test(key)) return { unsupported: reason };
  const suffix = ROLE_SUFFIXES.find(([s]) => key.endsWith(s));
  if (!suffix) {
    return { unsupported: 'not a LoRA tensor (expected kohya .lora_down.weight/.lora_up.weight/.alpha or diffusers/PEFT .lora_A.weight/.lora_B.weight)' };
  }
  const [ending, role] = suffix;
  const module = key.slice(0, -ending.length);
  return moduleOf(module, role);
}

function moduleOf(module: string, role: LoraRole): ParsedLoraKey {
  if (/^lora_te[12]_/.test(module) || module.startsWith('text_encoder_2.')) {
    return { unsupported: 'patches one of SDXL\'s two text encoders: this is an SDXL LoRA, and sd-tflite converts SD v1.x' };
  }
  if (module.startsWith('lora_unet_') || module.startsWith('lora_te_')) return { naming: 'kohya', module, role };
  if (module.startsWith('unet.') || module.startsWith('text_encoder.')) return { naming: 'diffusers', module, role };
  if (module.startsWith('base_model.model.')) {
    // A bare PEFT adapter of one model: the text encoder's paths start with text_model.
    const path = module.slice('base_model.model.'.length);
    return { naming: 'diffusers', module: `${path.startsWith('text_model.') ? 'text_encoder' : 'unet'}.${path}`, role };
  }
  if (/^(transformer|lora_transformer|diffusion_model|lora_prior)[._]/.test(module)) {
    return { unsupported: 'names a transformer/prior model (Flux, SD3, Cascade, ComfyUI layout…): sd-tflite converts SD v1.x, whose LoRAs patch lora_unet_/lora_te_ (kohya) or unet./text_encoder. (diffusers) modules' };
  }
  return { unsupported: 'no known LoRA prefix (kohya lora_unet_/lora_te_, or diffusers unet./text_encoder.)' };
}
