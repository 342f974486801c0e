/**
 * The `gemm-int8-accuracy` suite: what int8Compute (hybrid int8
 * FULLY_CONNECTED and 1x1 CONV_2D) costs in accuracy at model level, on
 * tiny-a (test/fixtures/tiny-a):
 * - the UNet output at the golden cases: fp32, weight-only int8 (float
 *   compute) and int8 compute per layout/activation quantization, as
 *   relative L2 against fp32, the golden (original PyTorch code) and the
 *   weight-only int8 output;
 * - a whole generated image (StableDiffusion, k_euler, 64x64, 8 steps):
 *   relative L2 of the final latents and of the image against fp32;
 * - what a hybrid int8 3x3 convolution would cost, direct or Winograd, as a
 *   float64 simulation on one SD-like layer (gemm-int8-winograd.ts).
 *
 * Options: USAGE below (`npm run bench -- gemm-int8-accuracy --help`).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listOf, parseFlags, wholeNumber } from '../../src/cli/parse-flags.js';
import { readNpyFloat32 } from '../../src/io/npy.js';
import type { Int8GemmOptions } from '../../src/kernels/wasm/gemm-int8-pack.js';
import { enableRelaxedSimd } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { openCheckpoint } from '../../src/models/checkpoint/checkpoint.js';
import { COMPONENTS } from '../../src/models/checkpoint/component-weights.js';
import { loadModelConfig } from '../../src/models/config.js';
import { buildComponent, checkComponents, writeComponent } from '../../src/models/convert.js';
import type { Precision } from '../../src/models/graph/weights.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { winogradAccuracy } from './gemm-int8-winograd.js';

const TINY_A = 'test/fixtures/tiny-a';
const golden = (name: string) => readNpyFloat32(join(TINY_A, `${name}.npy`)).data;

const UNET_CASES = [
  { name: 'unet', latent: 'unet_in_latent', temb: 'unet_in_temb', out: 'unet_out', h: 8, w: 8 },
  { name: 'unet_mixed_t', latent: 'unet_in_latent', temb: 'unet_mixed_temb', out: 'unet_mixed_out', h: 8, w: 8 },
  { name: 'unet_nonsquare', latent: 'unet_nonsq_latent', temb: 'unet_nonsq_temb', out: 'unet_nonsq_out', h: 8, w: 16 },
];

function relL2(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let se = 0, sr = 0;
  for (let i = 0; i < ref.length; i++) {
    se += (got[i]! - ref[i]!) ** 2;
    sr += ref[i]! ** 2;
  }
  return Math.sqrt(se / sr);
}

interface Setup {
  label: string;
  precision: Precision;
  int8?: Int8GemmOptions;
}

function setups(rt: KernelRuntime): Setup[] {
  const list: Setup[] = [
    { label: 'fp32', precision: 'fp32' },
    { label: 'int8 weight-only', precision: 'int8' },
    { label: 'int8 compute i16 asym 8-bit', precision: 'int8', int8: { layout: 'i16', activations: 'asymmetric', activationBits: 8 } },
    { label: 'int8 compute i16 sym 8-bit', precision: 'int8', int8: { layout: 'i16', activations: 'symmetric', activationBits: 8 } },
    { label: 'int8 compute i16 asym 10-bit', precision: 'int8', int8: { layout: 'i16', activations: 'asymmetric', activationBits: 10 } },
    { label: 'int8 compute i16 asym 12-bit', precision: 'int8', int8: { layout: 'i16', activations: 'asymmetric', activationBits: 12 } },
  ];
  if (rt.variant === 'relaxed') {
    list.push({ label: 'int8 compute u7 asymmetric', precision: 'int8', int8: { layout: 'u7', activations: 'asymmetric' } });
    list.push({ label: 'int8 compute u7 symmetric', precision: 'int8', int8: { layout: 'u7', activations: 'symmetric' } });
  }
  return list;
}

function unetOutputs(rt: KernelRuntime, unet: Uint8Array, int8?: Int8GemmOptions): Float32Array[] {
  const interp = Interpreter.load(unet, wasmInterpreterOptions(rt, { int8Compute: int8 ?? false }));
  try {
    const runner = interp.getSignatureRunner();
    return UNET_CASES.map((c) => {
      const temb = golden(c.temb);
      runner.resizeInput('args_0', [2, 4, c.h, c.w]);
      runner.resizeInput('args_2', [temb.length / 32, 32]);
      return runner.invoke({ args_0: golden(c.latent), args_1: golden('unet_in_context'), args_2: temb }).output_0!.data as Float32Array;
    });
  } finally {
    interp.close();
  }
}

async function unetAccuracy(threads: number): Promise<void> {
  const config = loadModelConfig(join(TINY_A, 'model-config.json'));
  const checkpoint = openCheckpoint(join(TINY_A, 'tiny-a.safetensors'), config);
  const weights = checkComponents(checkpoint, ['diffusion'], config).get('diffusion')!;
  const files = {
    fp32: buildComponent('diffusion', weights, { config, precision: 'fp32', target: 'cpu' }).model.toBuffer(),
    int8: buildComponent('diffusion', weights, { config, precision: 'int8', target: 'cpu' }).model.toBuffer(),
  };
  checkpoint.close();
  for (const variant of ['simd', 'relaxed'] as const) {
    const rt = await createKernelRuntime({ threads, variant });
    try {
      const results = setups(rt).map((s) => ({ ...s, outs: unetOutputs(rt, files[s.precision as 'fp32' | 'int8'], s.int8) }));
      const fp32 = results[0]!.outs, weightOnly = results[1]!.outs;
      console.log(`\nUNet output, ${variant} kernels (relative L2; cases ${UNET_CASES.map((c) => c.name).join(', ')}):`);
      for (const r of results) {
        const cell = (ref: Float32Array[]) => r.outs.map((o, i) => relL2(o, ref[i]!).toExponential(2)).join(' ');
        console.log(`  ${r.label.padEnd(28)} vs fp32 ${cell(fp32)} | vs golden ${cell(UNET_CASES.map((c) => golden(c.out)))} | vs weight-only int8 ${cell(weightOnly)}`);
      }
    } finally {
      await rt.close();
    }
  }
}

async function imageAccuracy(threads: number): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sd-int8-accuracy-'));
  try {
    const config = loadModelConfig(join(TINY_A, 'model-config.json'));
    const checkpoint = openCheckpoint(join(TINY_A, 'tiny-a.safetensors'), config);
    const weights = checkComponents(checkpoint, COMPONENTS, config);
    for (const precision of ['fp32', 'int8'] as const) {
      mkdirSync(join(work, precision));
      for (const c of ['clip', 'diffusion', 'decoder'] as const) {
        writeComponent(c, weights.get(c)!, join(work, precision, `${c}.tflite`), { config, precision, target: 'cpu' });
      }
    }
    checkpoint.close();
    const generate = async (precision: Precision, int8Compute: boolean | Int8GemmOptions) => {
      const sd = await StableDiffusion.load({ models: join(work, precision), threads, int8Compute });
      try {
        const r = await sd.generate({ prompt: 'a red cube on a table', negativePrompt: 'blurry', seed: 42, sampler: 'k_euler', steps: 8, width: 64, height: 64 });
        return { latents: r.latents, image: r.image.data };
      } finally {
        await sd.close();
      }
    };
    const fp32 = await generate('fp32', false);
    const weightOnly = await generate('int8', false);
    const computed = [
      ['int8 compute (default)', await generate('int8', true)],
      ['int8 compute 8-bit', await generate('int8', { activationBits: 8 })],
      ['int8 compute u7', await generate('int8', { layout: 'u7' })],
    ] as const;
    console.log('\nWhole image (k_euler, 8 steps, 64x64, relaxed kernels), relative L2:');
    for (const [label, r] of [['int8 weight-only', weightOnly], ...computed] as const) {
      console.log(
        `  ${label.padEnd(24)} latents vs fp32 ${relL2(r.latents, fp32.latents).toExponential(2)}, image (0-255) vs fp32 ${relL2(r.image, fp32.image).toExponential(2)};`
        + ` vs weight-only: latents ${relL2(r.latents, weightOnly.latents).toExponential(2)}, image ${relL2(r.image, weightOnly.image).toExponential(2)}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const SECTIONS = ['unet', 'image', 'winograd'] as const;

const USAGE = `usage: npm run bench -- gemm-int8-accuracy [--threads N] [--sections ${SECTIONS.join(',')}]

  --threads N      kernel threads (default 2)
  --sections LIST  some of ${SECTIONS.join(', ')} (default: all)`;

export async function run(args: string[]): Promise<void> {
  const v = parseFlags(args, {
    threads: { type: 'string' },
    sections: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (v.help) {
    console.log(USAGE);
    return;
  }
  const threads = v.threads === undefined ? 2 : wholeNumber('--threads', v.threads);
  const sections: readonly string[] = v.sections === undefined ? SECTIONS : listOf('--sections', v.sections, SECTIONS);
  enableRelaxedSimd();
  if (sections.includes('unet')) await unetAccuracy(threads);
  if (sections.includes('image')) await imageAccuracy(threads);
  if (sections.includes('winograd')) winogradAccuracy();
}
