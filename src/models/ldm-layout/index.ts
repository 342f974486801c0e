import type { ModelConfig } from '../config.js';
import { SCHEDULE_BUFFER_NAMES, SD_TIMESTEPS } from './schedule-buffers.js';
import { SpecList, type TensorSpec } from './tensor-spec.js';
import { textEncoderSpecs } from './text-encoder.js';
import { unetSpecs } from './unet.js';
import { vaeSpecs } from './vae.js';

export type { CheckpointDtype, Component, TensorKind, TensorSpec } from './tensor-spec.js';

export const UNET_PREFIX = 'model.diffusion_model.';
export const VAE_PREFIX = 'first_stage_model.';
export const TEXT_ENCODER_PREFIX = 'cond_stage_model.transformer.text_model.';

/** 'fp32': float tensors are F32 (as in v1-5-pruned-emaonly); 'fp16': F16. */
export type CheckpointPrecision = 'fp32' | 'fp16';

/**
 * The tensor table of an original-LDM-layout checkpoint for `config`, as
 * `v1-5-pruned-emaonly.safetensors` holds it for SD v1.5, in PyTorch
 * state_dict order (LatentDiffusion's own schedule buffers, then the UNet,
 * model_ema, the VAE and the text encoder).
 *
 * Integer buffers keep their dtype (position_ids I64, model_ema.num_updates
 * I32); with 'fp16' every float tensor is F16, schedule buffers and
 * model_ema.decay included, as a half-precision export (`model.half()`) of
 * the whole LatentDiffusion module stores them.
 */
export function ldmCheckpointSpecs(config: ModelConfig, precision: CheckpointPrecision = 'fp32'): TensorSpec[] {
  const specs: TensorSpec[] = [];
  const schedule = new SpecList(specs, '', 'schedule');
  for (const name of SCHEDULE_BUFFER_NAMES) schedule.add(name, [SD_TIMESTEPS], 'schedule');
  unetSpecs(config.unet, new SpecList(specs, UNET_PREFIX, 'unet'));
  const ema = new SpecList(specs, 'model_ema.', 'ema');
  ema.add('decay', [], 'ema_decay');
  ema.add('num_updates', [], 'ema_num_updates', 'I32');
  vaeSpecs(config.vae, new SpecList(specs, VAE_PREFIX, 'vae'));
  textEncoderSpecs(config.text_encoder, new SpecList(specs, TEXT_ENCODER_PREFIX, 'text_encoder'));
  if (precision === 'fp16') {
    for (const spec of specs) if (spec.dtype === 'F32') spec.dtype = 'F16';
  }
  return specs;
}

/** Number of elements of a shape ([] is a scalar: 1). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function dtypeSize(dtype: TensorSpec['dtype']): number {
  return dtype === 'F16' ? 2 : dtype === 'I64' ? 8 : 4;
}
