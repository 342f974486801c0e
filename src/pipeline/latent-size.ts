import { SdError, UsageError } from '../errors.js';
import { VAE_SCALE, type Denoiser, type LatentSize, type LatentSizeRule } from './components.js';

/**
 * Latent cells per side that a dynamic UNet needs a multiple of: SD v1.5's
 * UNet halves the latent three times and concatenates skip connections of
 * equal size on the way up, so latents must divide by 8 (images by 64).
 */
export const DYNAMIC_UNET_MULTIPLE = 8;

/** Checks that a graph takes `size`, with a message in pixels, as the user gave them. */
export function checkLatentSize(rule: LatentSizeRule, size: LatentSize, what: string): void {
  const px = (n: number) => n * VAE_SCALE;
  if (rule.kind === 'fixed') {
    if (size.height !== rule.height || size.width !== rule.width) {
      throw new UsageError(
        `${what} was converted for ${px(rule.width)}x${px(rule.height)} only; ${px(size.width)}x${px(size.height)} needs a conversion with dynamic sizes (or with that --width/--height)`,
      );
    }
    return;
  }
  if (size.height % rule.multiple !== 0 || size.width % rule.multiple !== 0) {
    throw new UsageError(
      `${what} takes widths and heights that are multiples of ${px(rule.multiple)} pixels; got ${px(size.width)}x${px(size.height)}`,
    );
  }
}

/** A decoder or image encoder must use the UNet's latent channel count. */
export function checkLatentChannels(denoiser: Denoiser, other: { latentChannels: number }, name: string): void {
  if (other.latentChannels !== denoiser.latentChannels) {
    throw new SdError(`the models do not fit together: diffusion.tflite has ${denoiser.latentChannels} latent channels, ${name} ${other.latentChannels}`);
  }
}
