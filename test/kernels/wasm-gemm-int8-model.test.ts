// The hybrid int8 FULLY_CONNECTED and 1x1 CONV_2D at model level: tiny-a's
// UNet converted at int8 (weight-only: INT8 weights + DEQUANTIZE), run with
// and without int8Compute, against the weight-only output and the golden.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGenerateArgs } from '../../src/cli/generate-command.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { buildComponent, checkComponents } from '../../src/models/convert.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions, type WasmKernelOptions } from '../../src/tflite/ops/wasm/index.js';
import { golden, openTinyA, relL2Error, tinyAConfig, UNET_CASES } from '../models/convert-tiny-a.js';

let unet: Uint8Array;
const runtimes: KernelRuntime[] = [];

beforeAll(async () => {
  const config = tinyAConfig();
  const checkpoint = openTinyA();
  try {
    const weights = checkComponents(checkpoint, ['diffusion'], config).get('diffusion')!;
    unet = buildComponent('diffusion', weights, { config, precision: 'int8', target: 'cpu' }).model.toBuffer();
  } finally {
    checkpoint.close();
  }
  for (const threads of [1, 2]) runtimes.push(await createKernelRuntime({ threads, variant: 'simd', maximumPages: 4096 }));
});
afterAll(async () => {
  for (const rt of runtimes) await rt.close();
});

function runUnet(rt: KernelRuntime, options: WasmKernelOptions): Float32Array {
  const c = UNET_CASES[0];
  const interp = Interpreter.load(unet, wasmInterpreterOptions(rt, options));
  try {
    const runner = interp.getSignatureRunner();
    runner.resizeInput('args_0', [2, 4, c.h, c.w]);
    const temb = golden(c.temb);
    runner.resizeInput('args_2', [temb.length / 32, 32]);
    return runner.invoke({ args_0: golden(c.latent), args_1: golden('unet_in_context'), args_2: temb }).output_0!.data as Float32Array;
  } finally {
    interp.close();
  }
}

describe('int8Compute on the tiny-a UNet', () => {
  it('stays within 3e-3 of the weight-only int8 path (12-bit rows) and bit-identical on 1 and 2 threads', () => {
    const weightOnly = runUnet(runtimes[1]!, {});
    const hybrid = runUnet(runtimes[1]!, { int8Compute: true });
    const err = relL2Error(hybrid, weightOnly);
    // Measured 1.5e-3 with FC and 1x1 convolutions hybrid (bench gemm-int8-accuracy); exactly 0 would mean the hybrid kernels did not run.
    expect(err).toBeGreaterThan(1e-5);
    expect(err).toBeLessThan(3e-3);
    expect(relL2Error(hybrid, golden(UNET_CASES[0].out))).toBeLessThan(5e-2); // the converter's int8 tolerance
    expect(runUnet(runtimes[0]!, { int8Compute: true })).toEqual(hybrid);
  });

  it('8-bit rows (as TFLite) cost more accuracy, as measured', () => {
    const weightOnly = runUnet(runtimes[1]!, {});
    const err = relL2Error(runUnet(runtimes[1]!, { int8Compute: { activationBits: 8 } }), weightOnly);
    expect(err).toBeGreaterThan(5e-3);
    expect(err).toBeLessThan(5e-2); // measured 3.6e-2
  });

  it('StableDiffusion refuses int8Compute with the reference kernels', async () => {
    await expect(StableDiffusion.load({ models: 'no-models', kernels: 'reference', int8Compute: true })).rejects.toThrow(/int8Compute runs on the wasm kernels/);
  });

  it('npm run generate takes --int8-compute', () => {
    const base = ['--models', 'm', '--tokenizer', 't', '--prompt', 'x', '--output', 'o.png'];
    expect(parseGenerateArgs(base)!.int8Compute).toBe(false);
    expect(parseGenerateArgs([...base, '--int8-compute'])!.int8Compute).toBe(true);
  });
});
