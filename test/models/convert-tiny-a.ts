/**
 * tiny-a's checkpoint, config and the outputs of the original CompVis/OpenAI
 * code (test/fixtures/tiny-a/manifest.json) for the converter tests, and the
 * error measures the issue states its tolerances in.
 */
import { readNpy, readNpyFloat32 } from '../../src/io/npy.js';
import { openCheckpoint, type Checkpoint } from '../../src/models/checkpoint/checkpoint.js';
import { loadModelConfig } from '../../src/models/config.js';

export const TINY_A = 'test/fixtures/tiny-a';
export const TINY_A_CKPT = `${TINY_A}/tiny-a.safetensors`;
export const TINY_A_CONFIG_FILE = `${TINY_A}/model-config.json`;
export const tinyAConfig = () => loadModelConfig(TINY_A_CONFIG_FILE);
export const openTinyA = (): Checkpoint => openCheckpoint(TINY_A_CKPT, tinyAConfig());

export const golden = (name: string): Float32Array => readNpyFloat32(`${TINY_A}/${name}.npy`).data;
export const goldenInt32 = (name: string): Int32Array => readNpy(`${TINY_A}/${name}.npy`).data as Int32Array;

/** ‖got − ref‖₂ / ‖ref‖₂ */
export function relL2Error(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new Error(`length ${got.length} != ${ref.length}`);
  let se = 0;
  let sr = 0;
  for (let i = 0; i < ref.length; i++) {
    se += (got[i]! - ref[i]!) ** 2;
    sr += ref[i]! ** 2;
  }
  return Math.sqrt(se / sr);
}

/** Rows [from, from + count) of a row-major tensor whose rows have `rowSize` elements. */
export const rows = (a: Float32Array | Int32Array, rowSize: number, from: number, count = 1) => a.slice(from * rowSize, (from + count) * rowSize);

/** The UNet cases of the manifest: inputs and golden output. */
export const UNET_CASES = [
  { name: 'unet', latent: 'unet_in_latent', temb: 'unet_in_temb', out: 'unet_out', h: 8, w: 8 },
  { name: 'unet_mixed_t', latent: 'unet_in_latent', temb: 'unet_mixed_temb', out: 'unet_mixed_out', h: 8, w: 8 },
  { name: 'unet_nonsquare', latent: 'unet_nonsq_latent', temb: 'unet_nonsq_temb', out: 'unet_nonsq_out', h: 8, w: 16 },
] as const;

export const DECODER_CASES = [
  { name: 'vae_decode', z: 'vae_dec_in_latent', out: 'vae_dec_out', h: 8, w: 8 },
  { name: 'vae_decode_nonsquare', z: 'vae_dec_nonsq_latent', out: 'vae_dec_nonsq_out', h: 8, w: 16 },
] as const;
