/**
 * Classifier-free guidance over the diffusion graph's batch-2 output
 * [cond, uncond] (DESIGN.md): uncond + cfg·(cond − uncond), for one
 * [1,4,h,w] latent. In float32 with cfg rounded to float32, as the reference
 * pipeline's numpy expression `cfg * (cond - uncond) + uncond` computes it.
 */
export function classifierFreeGuidance(unetOutput: Float32Array, cfgScale: number): Float32Array {
  if (unetOutput.length % 2 !== 0) {
    throw new Error(`guidance: batch-2 UNet output has an odd length ${unetOutput.length}`);
  }
  const n = unetOutput.length / 2;
  const cfg = Math.fround(cfgScale);
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const cond = unetOutput[k]!;
    const uncond = unetOutput[n + k]!;
    out[k] = Math.fround(cfg * Math.fround(cond - uncond)) + uncond;
  }
  return out;
}

/**
 * Whether classifier-free guidance is on: cfg > 1, the test diffusers'
 * pipelines make (`do_classifier_free_guidance`). At cfg = 1 the formula
 * above is the prompt's prediction alone (up to rounding), and diffusers
 * takes the prompt's alone for any cfg <= 1 too; then the negative prompt
 * has no effect and the pipeline skips the unconditional pass.
 */
export function guidanceEnabled(cfgScale: number): boolean {
  return cfgScale > 1;
}
