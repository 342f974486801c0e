import type { SamplerName } from './samplers/index.js';
import type { TokenizerMode } from './tokenizer/clip-tokenizer.js';
import type { EmphasisMode } from './tokenizer/prompt-weights.js';

/** What an image was made with, for PNG text chunks. */
export interface GenerationParameters {
  prompt: string;
  negativePrompt: string;
  seed: number;
  steps: number;
  sampler: SamplerName;
  cfg: number;
  width: number;
  height: number;
  tokenizerMode: TokenizerMode;
  emphasis: EmphasisMode;
  /** img2img only. */
  strength?: number;
}

/** The names AUTOMATIC1111's web UI gives our samplers, so its "PNG info" reads our files. */
const A1111_SAMPLER: Record<SamplerName, string> = {
  k_euler: 'Euler',
  k_euler_ancestral: 'Euler a',
  k_lms: 'LMS',
  ddim: 'DDIM',
  dpmpp_2m: 'DPM++ 2M Karras',
  lcm: 'LCM',
};

/**
 * PNG text entries: one per parameter (keys as the CLI flags spell them,
 * with '_'), plus `parameters` in AUTOMATIC1111's format, which many SD
 * tools read back.
 */
export function generationText(p: GenerationParameters): Record<string, string> {
  const size = `${p.width}x${p.height}`;
  const text: Record<string, string> = {
    prompt: p.prompt,
    negative_prompt: p.negativePrompt,
    seed: String(p.seed),
    steps: String(p.steps),
    sampler: p.sampler,
    cfg: String(p.cfg),
    size,
    tokenizer_mode: p.tokenizerMode,
    emphasis: p.emphasis,
  };
  if (p.strength !== undefined) text.strength = String(p.strength);
  const settings = [
    `Steps: ${p.steps}`,
    `Sampler: ${A1111_SAMPLER[p.sampler]}`,
    `CFG scale: ${p.cfg}`,
    `Seed: ${p.seed}`,
    `Size: ${size}`,
    ...(p.strength !== undefined ? [`Denoising strength: ${p.strength}`] : []),
    'Software: sd-tflite',
  ].join(', ');
  text.parameters = `${p.prompt}\n${p.negativePrompt ? `Negative prompt: ${p.negativePrompt}\n` : ''}${settings}`;
  text.Software = 'sd-tflite';
  return text;
}
