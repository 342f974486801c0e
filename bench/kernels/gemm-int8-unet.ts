/**
 * The `gemm-int8-unet` suite: one UNet evaluation of a converted int8
 * diffusion.tflite (e.g. full-size SD v1.5 from make-checkpoint + convert
 * --precision int8) with the weight-only int8 path (float compute) and with
 * int8Compute (hybrid int8 FULLY_CONNECTED and 1x1 CONV_2D), per setup: wall
 * and CPU time of a warm evaluation, the FULLY_CONNECTED and CONV_2D shares
 * from the profiler, and the output's relative L2 against the weight-only
 * output.
 *
 * Options: USAGE below (`npm run bench -- gemm-int8-unet --help`).
 * The batch and the context and time-embedding shapes are the file's.
 */
import { join } from 'node:path';
import { existingFile, existingFolder, oneOf, parseFlags, wholeNumber } from '../../src/cli/parse-flags.js';
import { UsageError } from '../../src/errors.js';
import type { Int8GemmOptions } from '../../src/kernels/wasm/gemm-int8-pack.js';
import { enableRelaxedSimd, type KernelVariant } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { Profiler } from '../../src/tflite/interpreter/profiler.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';

function pseudoRandom(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function relL2(got: Float32Array, ref: Float32Array): number {
  let se = 0, sr = 0;
  for (let i = 0; i < ref.length; i++) {
    se += (got[i]! - ref[i]!) ** 2;
    sr += ref[i]! ** 2;
  }
  return Math.sqrt(se / sr);
}

const USAGE = `usage: npm run bench -- gemm-int8-unet --models DIR [--size N] [--threads N] [--variant simd|relaxed]

  --models DIR   folder with an int8 diffusion.tflite (convert --precision int8)
  --size N       latent height and width (default 32)
  --threads N    kernel threads (default 2)
  --variant V    simd or relaxed (default relaxed)`;

export async function run(args: string[]): Promise<void> {
  const values = parseFlags(args, {
    models: { type: 'string' },
    size: { type: 'string' },
    threads: { type: 'string' },
    variant: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.models === undefined) throw new UsageError(`--models DIR (with an int8 diffusion.tflite) is required\n${USAGE}`);
  const models = existingFolder('--models', values.models);
  existingFile('--models', join(models, 'diffusion.tflite'));
  const size = values.size === undefined ? 32 : wholeNumber('--size', values.size);
  const threads = values.threads === undefined ? 2 : wholeNumber('--threads', values.threads);
  const variant: KernelVariant = oneOf('--variant', values.variant ?? 'relaxed', ['simd', 'relaxed']);
  if (variant === 'relaxed' && !enableRelaxedSimd()) throw new UsageError('this engine cannot run relaxed SIMD');

  const setups: { label: string; int8?: Int8GemmOptions }[] = [
    { label: 'weight-only int8 (float compute)' },
    { label: 'int8Compute (i16, 12-bit rows)', int8: {} },
    { label: 'int8Compute (i16, 8-bit rows)', int8: { activationBits: 8 } },
  ];
  if (variant === 'relaxed') setups.push({ label: 'int8Compute (u7)', int8: { layout: 'u7' } });

  let reference: Float32Array | undefined;
  for (const s of setups) {
    const runtime = await createKernelRuntime({ threads, variant });
    try {
      const interp = Interpreter.load(join(models, 'diffusion.tflite'), wasmInterpreterOptions(runtime, { int8Compute: s.int8 ?? false }));
      const unet = interp.getSignatureRunner('diffusion');
      const batch = unet.inputDetails()[0]!.shape[0]!;
      unet.resizeInput('args_0', [batch, 4, size, size]);
      const count = (i: number) => unet.inputDetails()[i]!.shape.reduce((a, b) => a * b, 1);
      const inputs = {
        args_0: pseudoRandom(count(0), 1),
        args_1: pseudoRandom(count(1), 2),
        args_2: Float32Array.from({ length: count(2) }, (_, i) => Math.cos((i % 320) * 0.37)),
      };
      if (!reference) console.log(`UNet evaluation, batch ${batch} at a ${size}x${size} latent, ${variant} kernels, ${threads} threads`);
      unet.invoke(inputs); // prepares and packs
      const profiler = new Profiler();
      const cpu = process.cpuUsage();
      const t = performance.now();
      const out = unet.invoke(inputs, { timer: profiler.timer() }).output_0!.data as Float32Array;
      const wallMs = performance.now() - t;
      const used = process.cpuUsage(cpu);
      const total = [...profiler.byType.values()].reduce((sum, x) => sum + x.ms, 0);
      const fc = profiler.byType.get('FULLY_CONNECTED')?.ms ?? 0;
      const conv = profiler.byType.get('CONV_2D')?.ms ?? 0;
      reference ??= out.slice();
      console.log(
        `  ${s.label.padEnd(34)} ${(wallMs / 1000).toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU;`
        + ` FULLY_CONNECTED ${(fc / 1000).toFixed(2)} s (${((100 * fc) / total).toFixed(1)}%), CONV_2D ${(conv / 1000).toFixed(2)} s (${((100 * conv) / total).toFixed(1)}%);`
        + ` output vs weight-only ${relL2(out, reference).toExponential(2)}`,
      );
      interp.close();
    } finally {
      await runtime.close();
    }
  }
}
