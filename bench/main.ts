/**
 * `npm run bench -- [suite] [options]`: runs one benchmark suite (default
 * `kernels`). A suite is a module under bench/ exporting `run(args)`; add
 * new ones (e2e, …) to SUITES.
 */
import { runCli } from '../src/cli/run-cli.js';
import { UsageError } from '../src/errors.js';
import { setUpKernels } from '../src/kernels/wasm/loader.js';

interface Suite {
  description: string;
  load(): Promise<{ run(args: string[]): Promise<void> }>;
}

const SUITES: Record<string, Suite> = {
  kernels: {
    description: 'SIMD peak, raw kernels (GEMM, attention, norms), and every issue-4 shape as a single-op .tflite in our interpreter vs LiteRT.js, 1 and 2 threads (--quick: one shape per op)',
    load: () => import('./kernels/suite.js'),
  },
  conv: { description: 'CONV_2D 3x3 kernels (Winograd F(4x4,3x3), im2col + GEMM) at the issue shapes', load: () => import('./kernels/conv.js') },
  'gemm-int8': { description: 'hybrid int8 GEMM vs float GEMM at the issue-4 FULLY_CONNECTED shapes (ratios from the same run)', load: () => import('./kernels/gemm-int8.js') },
  'gemm-int8-accuracy': { description: 'tiny-a UNet output and image with the hybrid int8 FULLY_CONNECTED vs fp32 and weight-only int8', load: () => import('./kernels/gemm-int8-accuracy.js') },
  'gemm-int8-unet': { description: 'one UNet evaluation of an int8 diffusion.tflite (--models DIR): weight-only vs hybrid int8 FULLY_CONNECTED, time, FC share, output difference', load: () => import('./kernels/gemm-int8-unet.js') },
  'relaxed-dot': { description: 'whether this Node/CPU fuses the relaxed int8 dot-add (and computes it right under Liftoff), timed against the pmaddubsw + pmaddwd pair the int8 GEMM uses', load: () => import('./kernels/relaxed-dot.js') },
  e2e: { description: 'full-size SD v1.5 (random weights) at 512x512 per precision: load, text encoder, step, decoder, image, peak RSS', load: () => import('./e2e/suite.js') },
};

function usage(): string {
  const lines = Object.entries(SUITES).map(([name, s]) => `  ${name.padEnd(10)} ${s.description}`);
  return `usage: npm run bench -- [suite] [options]\nsuites:\n${lines.join('\n')}`;
}

runCli(async () => {
  setUpKernels(); // relaxed SIMD unless SD_TFLITE_SIMD=plain, before any kernel is compiled
  const args = process.argv.slice(2);
  if (args[0] === '--help' || args[0] === '-h') {
    console.log(usage());
    return;
  }
  const name = args[0] && !args[0].startsWith('-') ? args.shift()! : 'kernels';
  const suite = SUITES[name];
  if (!suite) throw new UsageError(`unknown benchmark suite ${name}\n${usage()}`);
  await (await suite.load()).run(args);
});
